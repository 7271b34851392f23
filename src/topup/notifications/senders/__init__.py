"""Senders: SMTP (``smtp``), SMPP 3.4 (``smpp``) and the console (``console``, development).

Each implements ``topup.notifications.interfaces.Sender``; ``topup.bootstrap.senders`` picks
them by the settings ``TOPUP_EMAIL_BACKEND`` and ``TOPUP_SMS_BACKEND``.
"""
