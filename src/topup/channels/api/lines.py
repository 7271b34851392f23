"""/lines: bind, list, detail, auto-renew switch, and paged history of a line."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import client_ip, current_user, database
from topup.channels.api.messages import language_of
from topup.channels.api.schemas import BindIn, LineDetailOut, LineOut, LinePatchIn, Page
from topup.channels.api.views import line_detail, line_out, order_out, usage_out
from topup.charging.service import usage_history
from topup.db.uow import Database, UnitOfWork
from topup.ledger import service as ledger
from topup.orders.service import line_orders
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.lines import Line
from topup.subscribers.staff import is_staff, may

router = APIRouter(prefix="/lines", tags=["lines"])
def visible_line(uow: UnitOfWork, user: User, line_id: int, *, write: bool = False) -> Line:
    """The line if the caller may see it (its customer, or staff) or, with ``write``, act on
    it (its customer, or an admin: support and finance act through the admin endpoints)."""
    staff_may = may(user.role, "lines.create") if write else is_staff(user.role)
    owner = None if staff_may else user.id
    return line_svc.get_line(uow, line_id, owner=owner)


@router.post("/bind", response_model=LineOut)
def bind(request: Request, body: BindIn, user: User = Depends(current_user),
         db: Database = Depends(database)) -> LineOut:
    """Bind a SIM/eSIM with its ICCID or number and the secret printed on the card. Wrong
    secrets back off per account, per line (across accounts) and per address (429)."""
    address = client_ip(request)
    line = db.transact(lambda uow: line_svc.bind(uow, user.id, body.identifier, body.secret,
                                                 address), what="bind")
    if line is None:
        raise line_svc.bind_refused()
    return line_out(line)


@router.get("", response_model=list[LineOut])
def my_lines(user: User = Depends(current_user), db: Database = Depends(database)
             ) -> list[LineOut]:
    """The caller's lines."""
    with db.unit(readonly=True) as uow:
        return [line_out(x) for x in line_svc.lines_of(uow, user.id)]


@router.get("/{line_id}", response_model=LineDetailOut)
def detail(line_id: DbId, request: Request, user: User = Depends(current_user),
           db: Database = Depends(database)) -> LineDetailOut:
    """Balances per currency, live buckets (remaining/total, expiry), status, auto-renew."""
    with db.unit(readonly=True) as uow:
        return line_detail(uow, visible_line(uow, user, line_id), language_of(request))


@router.patch("/{line_id}", response_model=LineOut)
def patch(line_id: DbId, body: LinePatchIn, user: User = Depends(current_user),
          db: Database = Depends(database)) -> LineOut:
    """Switch auto-renew on or off."""
    def work(uow: UnitOfWork) -> LineOut:
        line = visible_line(uow, user, line_id, write=True)
        return line_out(line_svc.set_auto_renew(uow, line.id, body.auto_renew))

    return db.transact(work, what="auto-renew switch")


PageSize = Query(20, ge=1, le=100)
Cursor = Query(None, ge=1, description="The next_cursor of the previous page")


@router.get("/{line_id}/transactions", response_model=Page)
def transactions(line_id: DbId, limit: int = PageSize, before: DbId | None = Cursor,
                 user: User = Depends(current_user), db: Database = Depends(database)) -> Page:
    """Ledger movements into and out of the line's wallets and buckets, newest first."""
    with db.unit(readonly=True) as uow:
        line = visible_line(uow, user, line_id)
        mine = set(ledger.line_account_ids(uow, line.id))
        rows = ledger.account_transfers(uow, sorted(mine), limit=limit, before=before) \
            if mine else []
    items = [{
        "id": t.id, "at": t.created_at, "code": t.code, "unit": t.unit, "kind": t.kind,
        "ref": t.ref, "amount": t.amount if t.credit_account_id in mine else -t.amount,
    } for t in rows]
    return Page(items=items, next_cursor=rows[-1].id if len(rows) == limit else None)


@router.get("/{line_id}/orders", response_model=Page)
def orders(line_id: DbId, limit: int = PageSize, before: DbId | None = Cursor,
           user: User = Depends(current_user), db: Database = Depends(database)) -> Page:
    """The line's top-up and plan orders, newest first."""
    with db.unit(readonly=True) as uow:
        visible_line(uow, user, line_id)
        rows = line_orders(uow, line_id, limit=limit, before=before)
    return Page(items=[order_out(o) for o in rows],
                next_cursor=rows[-1].id if len(rows) == limit else None)


@router.get("/{line_id}/usage", response_model=Page)
def usage(line_id: DbId, limit: int = PageSize, before: DbId | None = Cursor,
          user: User = Depends(current_user), db: Database = Depends(database)) -> Page:
    """Usage records of the line and how each was charged, newest first."""
    with db.unit(readonly=True) as uow:
        visible_line(uow, user, line_id)
        rows = usage_history(uow, line_id, limit=limit, before=before)
    return Page(items=[usage_out(r) for _, r in rows],
                next_cursor=rows[-1][0] if len(rows) == limit else None)
