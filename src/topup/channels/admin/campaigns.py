"""Promotions in the console: the campaigns (filtered by state), a form per kind of campaign,
and each campaign's page: its definition, pause / resume / end, its promo codes (a shared code
added, a batch of single-use codes made and downloaded) and its report (uptake, cost, revenue,
redemptions per day).

Everyone on the staff reads (``promotions.read``); only ``promotions.write`` creates and
changes. Promo codes are secrets that pay: their CSV is sent with ``Cache-Control: no-store``
and every download is written to the audit log with the file's SHA-256, as voucher PINs are.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.audit.service import entries
from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.catalog.zones import list_zones
from topup.channels.admin import campaign_form as cf
from topup.channels.admin.charts import columns
from topup.channels.admin.pages import page
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.web import HEADERS, Form, PortalRoute, Web, allowed, posted
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.promotions import reports, store
from topup.promotions.errors import InvalidCampaign
from topup.promotions.store import MAX_BATCH, SALE_CHANNELS, Kept
from topup.subscribers import auth

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ, WRITE = allowed("promotions.read"), allowed("promotions.write")
DAYS = 30
NOTICES = {
    "created": N_("The campaign is saved and running in its window."),
    "paused": N_("The campaign is paused: no order gets it until it is resumed."),
    "active": N_("The campaign is running again."),
    "ended": N_("The campaign has ended."),
    "code_added": N_("The code is added."),
}
CHANGES = {"pause": ("paused", ("active",)), "resume": ("active", ("paused",)),
           "end": ("ended", ("active", "paused"))}


def _page(w: Web, template: str, status: int = 200, **extra: Any) -> Response:
    notice = NOTICES.get(w.request.query_params.get("notice", ""))
    if notice:
        extra["notice"] = w.t.gettext(notice)
    return page(w, template, "campaigns", status=status, kinds_of=cf.KINDS,
                campaign_states=cf.STATES, utc=_utc, pct=_pct, **extra)


def _utc(at: datetime) -> str:
    """A moment as staff set it: UTC, to the minute (windows are defined in UTC)."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _pct(basis_points: int) -> str:
    return f"{Decimal(basis_points) / 100:f}".rstrip("0").rstrip(".") + " %"


@router.get("/admin/campaigns")
def listing(state: str = Query("", max_length=10), w: Web = Depends(READ)) -> Response:
    """Campaigns, newest first; only those in ``state`` when one is chosen."""
    chosen = state if state in cf.STATES else None
    with w.db.unit(readonly=True) as uow:
        found = store.listed(uow, state=chosen)
    return _page(w, "admin/campaigns.html", campaigns=found, state=chosen or "")


def _choices(w: Web) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        plans = catalog.list_plans(uow, include_inactive=True)
        zones = list_zones(uow)
    return {"plans": plans, "zone_codes": {z["code"] for z in zones},
            "currencies": [(c, c) for c in w.db.settings.currencies],
            "sale_channels": SALE_CHANNELS}


def _new_page(w: Web, form: Form, status: int = 200) -> Response:
    kind = form.get("kind")
    # the long plan table opens where it matters: sale prices, plans ticked, a price refused
    open_plans = kind == "discount" or any(
        k.startswith(("plan_", "price_")) and form.get(k) for k in form.values)
    return _page(w, "admin/campaign_new.html", status, form=form, kind=kind,
                 open_plans=open_plans,
                 kind_hints=cf.KIND_HINTS, fields=cf.RULE_FIELDS.get(kind, ()),
                 **_choices(w))


@router.get("/admin/campaigns/new")
def new_campaign(kind: str = Query("", max_length=16), w: Web = Depends(WRITE)) -> Response:
    """The kinds to choose from, then the form of the chosen kind."""
    if kind not in cf.KINDS:
        return _new_page(w, Form({}))
    return _new_page(w, Form(cf.defaults(w, kind)))


@router.post("/admin/campaigns/new")
def create(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Keep the campaign (running from its start), or show the form again with what is
    wrong next to each field; nothing is kept then."""
    if form.get("kind") not in cf.KINDS:
        return _new_page(w, Form({}), 422)
    choices = _choices(w)
    spec = cf.spec_of(w, form, choices["plans"], choices["zone_codes"])
    if spec is not None:
        try:
            def work(uow: UnitOfWork) -> int:
                made = store.create_campaign(uow, spec, w.me().id)
                audit(uow, w.me().id, "campaign.create", f"campaign:{made}", kind=spec.kind,
                      name=spec.name, starts_at=spec.starts_at.isoformat(),
                      ends_at=spec.ends_at.isoformat())
                return made

            made = w.db.transact(work, what="campaign")
            return w.redirect(f"/admin/campaigns/{made}", notice="created")
        except TopupError as exc:
            cf.refuse(w, form, exc)
    return _new_page(w, form, 422)


def _chart_days(kept: Kept, now: datetime) -> tuple[datetime, list[str]]:
    """The 30 UTC days up to today, or up to the campaign's end when it is over."""
    last = min(now.astimezone(UTC), kept.campaign.ends_at.astimezone(UTC)).date()
    first = datetime.combine(last - timedelta(days=DAYS - 1), time(), UTC)
    return first, [(first + timedelta(days=i)).date().isoformat() for i in range(DAYS)]


def _detail(w: Web, campaign_id: int, form: Form | None = None, status: int = 200
            ) -> Response:
    with w.db.unit(readonly=True) as uow:  # what staff change here: as it is now
        kept = store.get(uow, campaign_id)
        since, days = _chart_days(kept, w.now)
        audit_rows = entries(uow, f"campaign:{campaign_id}", limit=100)
        data: dict[str, object] = {
            "code_counts": reports.code_counts(uow, campaign_id),
            "shared": reports.shared_codes(uow, campaign_id),
            "actors": auth.login_names(uow, [a["actor_id"] for a in audit_rows])}
    with w.db.unit(readonly=True, replica=True) as uow:  # the uptake: from the replica
        daily = reports.per_day(uow, campaign_id, since)
        data.update(report=reports.report(uow, campaign_id), report_as_of=uow.as_of)
    plans = {p.id: p for p in _choices(w)["plans"]}
    chart = columns(days, [(s, daily[s]) for s in cf.REDEMPTION_STATES if s in daily],
                    stacked=True)
    return _page(w, "admin/campaign.html", status, kept=kept, c=kept.campaign,
                 form=form or Form({}), daily_chart=chart, first_day=days[0], audit=audit_rows,
                 plans_by_id=plans, redemption_states=cf.REDEMPTION_STATES,
                 max_batch=MAX_BATCH, **data)


@router.get("/admin/campaigns/{campaign_id:int}")
def detail(campaign_id: DbId, w: Web = Depends(READ)) -> Response:
    """One campaign: its definition, state, codes and report."""
    return _detail(w, campaign_id)


def _change(w: Web, campaign_id: int, change: str) -> Response:
    state, sources = CHANGES[change]

    def work(uow: UnitOfWork) -> str:
        before = store.get(uow, campaign_id).state
        if before in sources:
            store.set_state(uow, campaign_id, state)
            audit(uow, w.me().id, f"campaign.{change}", f"campaign:{campaign_id}",
                  before=before, after=state)
        return before

    before = w.db.transact(work, what=f"campaign {change}")
    if before not in sources:  # a second tab, or a button pressed twice
        form = Form({})
        form.fail("", w.t.gettext("The campaign is %(state)s: it cannot be changed so.",
                                  state=w.t.gettext(cf.STATES[before])))
        return _detail(w, campaign_id, form, 409)
    return w.redirect(f"/admin/campaigns/{campaign_id}", notice=state)


@router.post("/admin/campaigns/{campaign_id:int}/pause")
def pause(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
          ) -> Response:
    """Stop giving the campaign to new orders (orders already made keep it)."""
    return _change(w, campaign_id, "pause")


@router.post("/admin/campaigns/{campaign_id:int}/resume")
def resume(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
           ) -> Response:
    """Give the paused campaign to orders again, within its window."""
    return _change(w, campaign_id, "resume")


@router.post("/admin/campaigns/{campaign_id:int}/end")
def end(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """End the campaign for good (its report stays)."""
    return _change(w, campaign_id, "end")


@router.post("/admin/campaigns/{campaign_id:int}/codes")
def add_code(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
             ) -> Response:
    """One shared code, with a limit of uses or none."""
    max_uses = cf.limit_field(w, form, "max_uses")
    if form.ok:
        try:
            def work(uow: UnitOfWork) -> None:
                code = store.add_code(uow, campaign_id, form.get("code"), max_uses)
                audit(uow, w.me().id, "campaign.code_added", f"campaign:{campaign_id}",
                      code=code, max_uses=max_uses)

            w.db.transact(work, what="campaign code")
            return w.redirect(f"/admin/campaigns/{campaign_id}", notice="code_added")
        except TopupError as exc:
            cf.refuse(w, form, exc, "code")
    return _detail(w, campaign_id, form, 422)


def _csv(kept: Kept, codes: list[reports.Code]) -> bytes:
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer)
    out.writerow(["code", "max_uses", "uses", "campaign_id", "campaign", "valid_from_utc",
                  "valid_until_utc"])
    c = kept.campaign
    window = [c.starts_at.astimezone(UTC).isoformat(), c.ends_at.astimezone(UTC).isoformat()]
    for code in codes:
        out.writerow([code.code, "" if code.max_uses is None else code.max_uses, code.uses,
                      c.id, _cell(c.name), *window])
    return buffer.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    """A typed text made inert for spreadsheets (a leading = + - @ would be a formula)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _download(data: bytes, name: str) -> Response:
    # no-store (HEADERS) on top of private: no browser, proxy or disk cache keeps the codes
    headers = {**HEADERS, "Cache-Control": "no-store, private", "Pragma": "no-cache",
               "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/admin/campaigns/{campaign_id:int}/codes/batch")
def make_batch(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
               ) -> Response:
    """Make a batch of single-use codes and download them (CSV); the download is audited."""
    count = cf.limit_field(w, form, "count")
    if count is not None and count > MAX_BATCH:
        form.fail("count", w.t.gettext("Make at most %(n)s codes at a time.", n=MAX_BATCH))
    if not form.ok or count is None:
        return _detail(w, campaign_id, form, 422)
    try:
        def work(uow: UnitOfWork) -> tuple[bytes, str]:
            kept = store.get(uow, campaign_id)
            made = store.make_codes(uow, campaign_id, count, form.get("prefix"))
            data = _csv(kept, [reports.Code(c, 1, 0, uow.now) for c in made])
            name = f"campaign-{campaign_id}-codes-{uow.now:%Y%m%d-%H%M%S}.csv"
            audit(uow, w.me().id, "campaign.codes_download", f"campaign:{campaign_id}",
                  made=len(made), prefix=store.normal_code(form.get("prefix")),
                  file=name, rows=len(made), sha256=hashlib.sha256(data).hexdigest())
            return data, name

        data, name = w.db.transact(work, what="campaign codes")
    except TopupError as exc:
        cf.refuse(w, form, exc, "count")
        return _detail(w, campaign_id, form, 422)
    return _download(data, name)


@router.post("/admin/campaigns/{campaign_id:int}/codes/export")
def export_codes(campaign_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
                 ) -> Response:
    """Every code of the campaign with its uses (CSV), read from the replica when there is
    one; the download is audited (with the time the figures are as of, if the replica lags)."""
    with w.db.unit(readonly=True, replica=True) as uow:
        kept = store.get(uow, campaign_id)
        if kept.campaign.kind != "code":
            raise InvalidCampaign("only a code campaign has codes", field="campaign")
        codes = reports.codes(uow, campaign_id)
        lag = {"as_of": uow.as_of.isoformat()} if uow.as_of else {}
    data = _csv(kept, codes)

    def work(uow: UnitOfWork) -> str:
        name = f"campaign-{campaign_id}-all-codes-{uow.now:%Y%m%d-%H%M%S}.csv"
        audit(uow, w.me().id, "campaign.codes_download", f"campaign:{campaign_id}",
              made=0, file=name, rows=len(codes), sha256=hashlib.sha256(data).hexdigest(),
              **lag)
        return name

    name = w.db.transact(work, what="campaign codes download")
    return _download(data, name)
