"""``POST /api/v1/sms/inbound``: an SMS gateway's webhook for messages travellers send us.

For operators whose SMS gateway speaks HTTP rather than SMPP. The gateway POSTs a form with the
sender (``from``), the body (``text``) and its message id (``id``, optional, used to answer a
repeated delivery once); the reply SMS goes out through the outbox like every other message,
and is also returned (``{"reply": …}``) for gateways that would rather answer in-line.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from pydantic import BaseModel

from topup.channels.api.deps import database
from topup.channels.selfservice.gateway import gateway
from topup.channels.sms.keywords import handle_inbound
from topup.db.uow import Database

router = APIRouter(prefix="/sms", tags=["sms"])


class InboundOut(BaseModel):
    """The reply queued to the sender."""

    reply: str


@router.post("/inbound", response_model=InboundOut, dependencies=[Depends(gateway("sms"))])
def inbound(sender: str = Form(..., alias="from", min_length=3, max_length=32),
            text: str = Form("", max_length=1600),
            message_id: str | None = Form(None, alias="id", max_length=128),
            db: Database = Depends(database)) -> InboundOut:
    """One inbound SMS, called by the operator's SMS gateway."""
    return InboundOut(reply=handle_inbound(db, sender, text, message_id=message_id or None))
