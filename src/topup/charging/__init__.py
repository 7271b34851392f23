"""Charging: plan buckets on lines, and usage records that draw them (then money) down."""
