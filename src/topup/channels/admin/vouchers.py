"""Voucher batches in the console: the list (with each batch's cards per state), a new batch,
its one printer download, activation, blocking a batch or a serial range, and one card's
state by its serial (never a PIN: the console has none to show).

The printer file is the CSV of ``topup vouchers generate``, streamed to the browser while the
cards are made (see ``voucher_file``). Batches larger than ``CONSOLE_MAX_CARDS`` are generated
with the CLI instead, whose files are written where the operator chooses: a browser download
of many minutes is too easy to lose half-way, and a lost export cannot be repeated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from topup.agents import agents as agent_svc
from topup.audit.service import entries
from topup.catalog import service as catalog
from topup.channels.admin import voucher_file
from topup.channels.admin.pages import page, positive_int, reason_of, refusal
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.web import HEADERS, Form, PortalRoute, Web, allowed, posted
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.money import Money
from topup.subscribers import auth
from topup.vouchers import service as vouchers
from topup.vouchers.pins import MAX_LENGTH, MIN_LENGTH
from topup.vouchers.views import BatchView

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ, WRITE = allowed("vouchers.read"), allowed("vouchers.write")
PAGE = 20
CONSOLE_MAX_CARDS = 100_000

BATCH_STATES = {"created": N_("Not sold yet"), "active": N_("Active"), "frozen": N_("Blocked")}
CARD_STATES = {
    "generated": N_("Printed"), "distributed": N_("With the distributor"),
    "active": N_("Active"), "reserved": N_("Being redeemed"), "used": N_("Used"),
    "expired": N_("Expired"), "blocked": N_("Blocked"),
}


@router.get("/admin/vouchers")
def listing(before: DbId | None = None, w: Web = Depends(READ)) -> Response:
    """Batches, newest first, with how many of their cards are in each state."""
    with w.db.unit(readonly=True) as uow:
        found = vouchers.list_batches(uow, limit=PAGE + 1, before=before)
        rows = [(b, vouchers.batch_counts(uow, b.id)) for b in found[:PAGE]]
    more = rows[-1][0].id if len(found) > PAGE else None
    return page(w, "admin/vouchers.html", "vouchers", rows=rows, more=more, before=before,
                card_states=CARD_STATES, batch_states=BATCH_STATES)


def _choices(w: Web) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        plans = catalog.list_plans(uow, on_sale_at=uow.now)
        agents = agent_svc.list_agents(uow)
    return {"plans": [(p.id, f"{p.code} · {p.name(w.t.lang)}") for p in plans],
            "agents": [(a.id, a.name) for a in agents],
            "currencies": [(c, c) for c in w.db.settings.currencies],
            "pin_lengths": [(n, n) for n in range(MAX_LENGTH, MIN_LENGTH - 1, -1)]}


def _new_page(w: Web, form: Form, status: int = 200) -> Response:
    return page(w, "admin/voucher_new.html", "vouchers", status=status, form=form,
                max_cards=CONSOLE_MAX_CARDS, **_choices(w))


@router.get("/admin/vouchers/new")
def new_batch(w: Web = Depends(WRITE)) -> Response:
    """The form for a new batch."""
    expires = (w.now + timedelta(days=365)).date().isoformat()
    return _new_page(w, Form({"currency": w.db.settings.default_currency, "pin_length": "16",
                              "expires_at": expires}))


def _optional_id(w: Web, form: Form, name: str) -> int | None:
    return positive_int(w, form, name) if form.get(name) else None


def _spec(w: Web, form: Form) -> vouchers.BatchSpec | None:
    count = positive_int(w, form, "count")
    plan_id = _optional_id(w, form, "plan_id")
    currency = form.get("currency") or w.db.settings.default_currency
    face = None
    if (plan_id is None) == (not form.get("face_amount")):
        form.fail("face_amount", w.t.gettext("Give a face value, or choose a plan (not both)."))
    elif plan_id is None:
        try:
            face = Money.parse(form.get("face_amount"), currency).amount
        except TopupError as exc:
            form.refuse(w.t, exc, "face_amount")
    try:
        day = date.fromisoformat(form.get("expires_at"))
    except ValueError:
        form.fail("expires_at", w.t.gettext("Enter a date such as %(example)s.",
                                             example="2027-12-31"))
        day = None
    pin_length = form.get("pin_length")
    agent_id = _optional_id(w, form, "agent_id")
    if not form.ok or count is None or day is None:
        return None
    return vouchers.BatchSpec(
        count=count, expires_at=datetime.combine(day, time(23, 59, 59), UTC),
        currency=currency, face_amount=face, plan_id=plan_id,
        pin_length=int(pin_length) if pin_length.isdigit() else 0,
        distributor=form.get("distributor") or None, label=form.get("label") or None,
        agent_id=agent_id)


def _known_agent(uow: UnitOfWork, agent_id: int | None) -> None:
    """AgentNotFound for an agent id that names none (the form offers only real ones)."""
    if agent_id is not None:
        agent_svc.get_agent(uow, agent_id)


@router.post("/admin/vouchers/new")
def create(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Record the batch and reserve its serials; its cards are made on its page."""
    spec = _spec(w, form)
    if spec is not None:
        try:
            def work(uow: UnitOfWork) -> BatchView:
                _known_agent(uow, spec.agent_id)
                return vouchers.create_batch(uow, spec, w.me().id)

            batch = w.db.transact(work, what="voucher batch")
            return w.redirect(f"/admin/vouchers/{batch.id}", notice="batch_created")
        except TopupError as exc:
            form.refuse(w.t, exc, "agent_id" if exc.code == "agent_not_found" else "count")
    return _new_page(w, form, 422)


def _detail(w: Web, batch_id: int, form: Form | None = None, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        batch = vouchers.get_batch(uow, batch_id)
        audit = entries(uow, f"voucher_batch:{batch.id}", limit=100)
        plan = catalog.get_plan(uow, batch.plan_id) if batch.plan_id else None
        agent = agent_svc.get_agent(uow, batch.agent_id) if batch.agent_id else None
        data = {"batch": batch, "counts": vouchers.batch_counts(uow, batch.id), "audit": audit,
                "actors": auth.login_names(uow, [a["actor_id"] for a in audit]),
                "plan": plan, "agent": agent}
    files = [f for a in audit if a["action"] == "voucher_batch.download"
             for f in (a["data"] or {}).get("files", [])]
    form = form or Form({})
    form.values.setdefault("distributor", batch.distributor or "")
    return page(w, "admin/voucher.html", "vouchers", status=status, form=form, files=files,
                max_cards=CONSOLE_MAX_CARDS, card_states=CARD_STATES,
                batch_states=BATCH_STATES, **data, **_choices(w))


@router.get("/admin/vouchers/{batch_id:int}")
def detail(batch_id: DbId, w: Web = Depends(READ)) -> Response:
    """One batch: its terms, cards per state, printer file, and every staff action on it."""
    return _detail(w, batch_id)


@router.post("/admin/vouchers/{batch_id:int}/generate")
def generate(batch_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Make the batch's cards and send their printer file, this once, as a download."""
    with w.db.unit(readonly=True) as uow:
        batch = vouchers.get_batch(uow, batch_id)
    if not form.checked("confirm"):
        form.fail("confirm", w.t.gettext("Confirm that you will keep the file safe: its PINs "
                                         "cannot be shown or downloaded again."))
    elif batch.count > CONSOLE_MAX_CARDS:
        form.fail("confirm", w.t.gettext("Batches of more than %(n)s cards are generated with "
                                         "the command line.", n=CONSOLE_MAX_CARDS))
    if not form.ok:
        return _detail(w, batch_id, form, 422)
    sink, first = voucher_file.start(w.db, batch, w.me().id)
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{sink.name}"'}
    return StreamingResponse(sink.body(first), media_type="text/csv; charset=utf-8",
                             headers=headers)


def _changed(w: Web, batch_id: int, form: Form, field: str, change: Any, notice: str
             ) -> Response:
    if form.ok:
        try:
            w.db.transact(change, what=notice)
            return w.redirect(f"/admin/vouchers/{batch_id}", notice=notice)
        except TopupError as exc:  # the detail says which state stands in the way
            form.refuse(w.t, exc, field, refusal(w, exc))
    return _detail(w, batch_id, form, 422)


@router.post("/admin/vouchers/{batch_id:int}/activate")
def activate(batch_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """The batch was sold: its unsold cards become redeemable (booked as a liability)."""
    agent_id = _optional_id(w, form, "agent_id")
    def change(uow: UnitOfWork) -> None:
        _known_agent(uow, agent_id)
        vouchers.activate_batch(uow, batch_id, w.me().id,
                                distributor=form.get("distributor") or None, agent_id=agent_id)

    return _changed(w, batch_id, form, "distributor", change, "batch_activated")


@router.post("/admin/vouchers/{batch_id:int}/block")
def block(batch_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Block the whole batch (lost shipment, dispute): none of its cards redeems or sells."""
    reason = reason_of(w, form, "block_reason")
    return _changed(w, batch_id, form, "block_reason", lambda uow: vouchers.block_batch(
        uow, batch_id, w.me().id, reason), "batch_blocked")


@router.post("/admin/vouchers/{batch_id:int}/unblock")
def unblock(batch_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Lift the batch's block: it returns to the state it had."""
    reason = reason_of(w, form, "unblock_reason")
    return _changed(w, batch_id, form, "unblock_reason", lambda uow: vouchers.unblock_batch(
        uow, batch_id, w.me().id, reason), "batch_unblocked")


def _cards_page(w: Web, serial: str, form: Form | None = None, status: int = 200,
                changed: int | None = None) -> Response:
    card = problem = None
    if serial:
        try:
            with w.db.unit(readonly=True) as uow:
                card = vouchers.get_voucher(uow, serial)
        except TopupError:
            problem, status = w.t.gettext("No card has this serial number."), 404
    return page(w, "admin/voucher_cards.html", "vouchers", status=status, serial=serial,
                card=card, problem=problem, form=form or Form({}), changed=changed,
                card_states=CARD_STATES)


@router.get("/admin/vouchers/cards")
def cards(serial: str = Query("", max_length=40), changed: int | None = Query(None, ge=0),
          w: Web = Depends(READ)) -> Response:
    """One card's state by its serial; the forms to block or unblock a serial range."""
    return _cards_page(w, serial.strip(), changed=changed)


def _range(w: Web, form: Form, unblock: bool) -> Response:
    reason = reason_of(w, form, "reason")
    for name in ("first", "last"):
        if not form.get(name):
            form.fail(name, w.t.gettext("Enter a serial number."))
    if form.ok:
        act = vouchers.unblock_range if unblock else vouchers.block_range
        last = form.get("last")
        try:
            n = w.db.transact(lambda uow: act(uow, form.get("first"), last, w.me().id, reason),
                              what=act.__name__)
            return w.redirect("/admin/vouchers/cards", changed=str(n),
                              notice="cards_unblocked" if unblock else "cards_blocked")
        except TopupError as exc:
            form.refuse(w.t, exc, "first")
    return _cards_page(w, "", form, 422)


@router.post("/admin/vouchers/cards/block")
def block_cards(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Block every unused card with a serial in the range (lost or stolen cards)."""
    return _range(w, form, False)


@router.post("/admin/vouchers/cards/unblock")
def unblock_cards(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Unblock the blocked cards with a serial in the range."""
    return _range(w, form, True)
