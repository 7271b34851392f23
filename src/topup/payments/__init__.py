"""Payments: the port orders talk to, and its providers (sandbox now; card, PayPal, Alipay,
WeChat Pay and bank transfer are planned)."""
