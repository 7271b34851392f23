"""topup: prepaid top-up and renewal platform for travel SIM and eSIM operators."""

__version__ = "0.1.0"
