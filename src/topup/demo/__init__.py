"""Demo data: a realistic catalogue and accounts to try topup with; never used in production."""
