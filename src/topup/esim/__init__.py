"""eSIM profiles and the SM-DP+ that prepares them (SGP.22 ES2+)."""
