"""The double-entry ledger at the heart of topup (after TigerBeetle's accounts and transfers)."""
