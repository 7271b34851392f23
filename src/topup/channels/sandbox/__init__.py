"""The sandbox provider's own payment pages (test mode)."""
