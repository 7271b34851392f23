"""Saved payment methods for auto-renew: a card kept at the provider, never here.

Only the provider's references (customer, payment method) and the card's brand and last four
digits are stored. See ``docs/payments-saved-methods.md``.
"""
