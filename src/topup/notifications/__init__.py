"""Notifications: the outbox written in the same transaction as its cause (delivery: planned)."""
