"""The ``topup`` command."""
