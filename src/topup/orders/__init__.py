"""Top-up and renewal orders: one state machine and one exactly-once path for every channel."""
