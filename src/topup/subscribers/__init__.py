"""Customers and staff (users), authentication, and SIM/eSIM lines with their lifecycle."""
