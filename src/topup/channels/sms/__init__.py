"""SMS keywords: ``BAL``, ``RENEW ON`` / ``RENEW OFF``, ``TOPUP <PIN>``, ``HELP`` (and 余额,
开启续费 / 关闭续费, 充值 <PIN>, 帮助), answered by a reply SMS through the outbox.

``keywords``  ``handle_inbound(db, sender, text)``: what the SMPP link (and the webhook) call
``inbound``   the HTTP webhook for an SMS gateway's inbound messages
"""
