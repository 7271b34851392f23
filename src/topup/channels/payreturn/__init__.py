"""The page a payer comes back to from a payment provider."""
