"""Background work run by ``topup worker``: the loop (``worker``) and its jobs."""
