"""Imports every area's tables so that ``metadata`` describes the whole schema."""

from __future__ import annotations

from topup.agents import tables as agent_tables
from topup.audit import tables as audit_tables
from topup.catalog import tables as catalog_tables
from topup.channels.portal import tables as portal_tables
from topup.charging import tables as charging_tables
from topup.db.metadata import metadata
from topup.esim import tables as esim_tables
from topup.help import tables as help_tables
from topup.jobs import tables as job_tables
from topup.ledger import tables as ledger_tables
from topup.notifications import tables as notification_tables
from topup.orders import tables as order_tables
from topup.payments.providers.bank import tables as bank_tables
from topup.payments.providers.sandbox import tables as sandbox_tables
from topup.payments.saved import tables as saved_method_tables
from topup.promotions import tables as promotion_tables
from topup.receipts import tables as receipt_tables
from topup.subscribers import tables as subscriber_tables
from topup.support import tables as support_tables
from topup.vouchers import tables as voucher_tables

AREAS = (agent_tables, audit_tables, bank_tables, catalog_tables, charging_tables, esim_tables,
         help_tables, job_tables,
         ledger_tables, notification_tables, order_tables, portal_tables, promotion_tables,
         receipt_tables,
         sandbox_tables, saved_method_tables, subscriber_tables, support_tables, voucher_tables)

__all__ = ["AREAS", "metadata"]
