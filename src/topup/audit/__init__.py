"""The audit log of staff actions (manual credits, freezes, catalogue changes)."""
