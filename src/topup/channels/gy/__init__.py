"""Diameter Gy: online charging for packet gateways (server.py)."""
