"""Retail agents: chains and stores, dealers, post offices, kiosk operators and their terminals.

``agents`` holds agents, commission tiers and staff links; ``floats`` the prepaid float;
``topups`` direct top-ups paid from the float; ``voucher_sales`` scratch cards sold at the
counter; ``commission`` what the agent earns; ``kyc`` the buyer's ID where rules ask for it;
``terminals`` and ``signing`` the HMAC-signed terminal requests; ``statements`` the daily
statement and the per-terminal reconciliation.
"""
