"""Channels: parse input, call a service, render. They never touch tables."""
