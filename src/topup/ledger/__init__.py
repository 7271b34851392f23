"""The double-entry ledger at the heart of topup (modelled on TigerBeetle's accounts and transfers)."""
