"""Notifications: the outbox written in the same transaction as its cause, delivered by
``topup worker`` over SMTP and SMPP (or the console), rendered from en / zh-CN templates.

``service``        enqueue, list, retry (the outbox as callers and operators see it)
``confirmations``  the confirmation of a fulfilled order (handles ``OrderFulfilled``)
``recipients``     who hears about a line (reminders, renewals)
``preferences``    e-mail / SMS switches and quiet hours per customer
``rendering``      templates → text; ``templates/<language>/``
``delivery``       claim → renew lease → send → mark; the ``outbox`` worker job
``receipts``       delivery receipts and inbound SMS; the ``receive`` worker job
``interfaces``     the ``Sender`` / ``Receives`` ports; ``senders/`` smtp, smpp, console
"""
