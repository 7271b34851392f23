"""Promotions in the console: admins create each kind of campaign, pause, resume and end one,
add codes and download a batch of single-use codes (never cached, always audited); support
and finance read but change nothing; a bad field is shown next to itself in the staff's
language and keeps nothing; a campaign's report adds up on a small seeded example."""

from __future__ import annotations

import csv
import hashlib
import io
import re

import httpx
import pytest
from sqlalchemy import func, select

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.admin.test_vouchers import assert_links_answer
from tests.integration.portal.conftest import Browser
from tests.integration.test_promotions_store import WEEK, orders
from topup.audit.tables import audit_log
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.promotions import store
from topup.promotions.engine import price_items
from topup.promotions.rules import Context, Item, Scope
from topup.promotions.tables import campaigns, promo_codes

BASE = {"name": "Winter sale", "starts_at": "2026-11-22T00:00", "ends_at": "2026-11-29T00:00",
        "currency": "CNY"}
KINDS = {
    "discount": {"percent": "15"},
    "spend_save": {"tiers": "100.00 = 10.00\n200 = 25", "repeat": "on", "cap": "50.00",
                   "topups": "on"},
    "code": {"amount_off": "20.00", "min_spend": "100.00", "frees_code_on_refund": "on",
             "per_customer_limit": "1"},
    "bonus": {"tiers": "100.00 = 10.00", "topups": "on", "budget": "1000.00"},
    "cashback": {"percent": "2.5", "channel_web": "on", "channel_api": "on",
                 "total_limit": "500"},
}


def create(b: Browser, kind: str, **fields: str) -> httpx.Response:
    return b.submit(f"/admin/campaigns/new?kind={kind}", "/admin/campaigns/new",
                    {**BASE, "kind": kind, **fields})


def campaign_id_of(r: httpx.Response) -> int:
    found = re.fullmatch(r"/admin/campaigns/(\d+)", r.url.path)
    assert found, (r.url, r.text[:500])
    return int(found.group(1))


def count(db: Database, table=campaigns) -> int:  # type: ignore[no-untyped-def]
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def catalogue(db: Database) -> Database:
    with db.unit() as uow:
        seed_catalog(uow)
    return db


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_admin_creates_each_kind_of_campaign(catalogue: Database, staff: StaffBrowser,
                                                 kind: str) -> None:
    b = staff("admin")
    chooser = b.get("/admin/campaigns/new")
    assert chooser.status_code == 200 and f'data-kind="{kind}"' in chooser.text
    r = create(b, kind, **KINDS[kind])
    assert r.status_code == 200, r.text[:800]
    cid = campaign_id_of(r)
    assert "The campaign is saved" in r.text and 'id="campaign-state">Running' in r.text
    assert "2026-11-22 00:00 UTC" in r.text
    with catalogue.unit(readonly=True) as uow:
        kept = store.get(uow, cid)
        logged = uow.conn.execute(select(audit_log.c.action).where(
            audit_log.c.target == f"campaign:{cid}")).scalars().all()
    assert kept.campaign.kind == kind and kept.state == "active" and logged == ["campaign.create"]
    if kind == "spend_save":
        assert kept.campaign.tiers == ((100_00, 10_00), (200_00, 25_00))
        assert kept.campaign.repeat and kept.campaign.cap == 50_00 and kept.campaign.scope.topups
    if kind == "cashback":
        assert kept.campaign.percent_bp == 250 and kept.total_limit == 500
        assert kept.campaign.scope.channels == {"web", "api"}
    if kind == "code":
        assert (kept.campaign.amount_off, kept.campaign.min_spend) == (20_00, 100_00)
        assert kept.frees_code_on_refund and kept.per_customer_limit == 1
    listing = b.get("/admin/campaigns")
    assert f'data-campaign="{cid}"' in listing.text
    assert_links_answer(b, "/admin/campaigns", f"/admin/campaigns/{cid}")


def test_a_discount_takes_sale_prices_per_plan_and_a_scope(catalogue: Database,
                                                           staff: StaffBrowser) -> None:
    b = staff("admin")
    form = b.get("/admin/campaigns/new?kind=discount").text
    plan_ids = [int(p) for p in re.findall(r'data-plan="(\d+)"', form)][:2]
    r = create(b, "discount", **{f"price_{plan_ids[0]}": "9.90", f"plan_{plan_ids[0]}": "on",
                                 f"plan_{plan_ids[1]}": "on", "zones": "th, jp",
                                 "first_purchase_only": "on"})
    cid = campaign_id_of(r)
    with catalogue.unit(readonly=True) as uow:
        c = store.get(uow, cid).campaign
    assert dict(c.prices) == {plan_ids[0]: 9_90}
    assert c.scope.plans == set(plan_ids) and c.scope.zones == {"TH", "JP"}
    assert c.scope.first_purchase_only and not c.scope.topups


@pytest.mark.parametrize(("fields", "field", "en", "zh"), [
    ({"kind": "discount"}, "percent", "A discount needs a percentage or at least one sale price.",
     "折扣需要百分比或至少一个特价。"),
    ({"kind": "code", "percent": "10", "amount_off": "5.00"}, "percent",
     "Give either a percentage or an amount off, not both.",
     "请填写百分比或减免金额，不能同时填写。"),
    ({"kind": "bonus", "tiers": "100 = 10"}, "scope",
     "A top-up bonus applies to top-ups: tick them.", "充值赠送适用于充值：请勾选充值。"),
    ({"kind": "cashback", "percent": "5", "ends_at": "2026-11-01T00:00"}, "ends_at",
     "The campaign must end after it starts.", "活动结束时间必须晚于开始时间。"),
    ({"kind": "cashback", "percent": "250"}, "percent",
     "Enter a percentage from 0.01 to 100, such as 15 or 12.5.",
     "请输入 0.01 到 100 之间的百分比，例如 15 或 12.5。"),
    ({"kind": "spend_save", "tiers": "a lot"}, "tiers",
     "Line 1: write one tier a line as two amounts, such as 100.00 = 10.00.",
     "第 1 行：每行填写一个档位的两个金额，例如 100.00 = 10.00。"),
])
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_bad_field_is_shown_next_to_it_translated_and_nothing_is_kept(
        catalogue: Database, staff: StaffBrowser, fields: dict[str, str], field: str, en: str,
        zh: str, lang: str) -> None:
    b = staff("admin", lang=lang)
    fields = dict(fields)  # the parameters are shared by both languages
    kind = fields.pop("kind")
    r = create(b, kind, **fields)
    assert r.status_code == 422, r.text[:500]
    shown = re.search(rf'<p class="error" id="e-{field}">([^<]*)</p>', r.text)
    assert shown, r.text[:3000]
    assert shown.group(1) == (zh if lang == "zh-CN" else en)
    assert 'value="Winter sale"' in r.text  # what was typed stays in the form
    assert count(catalogue) == 0 and count(catalogue, audit_log) == 0


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_read_but_cannot_change(catalogue: Database, staff: StaffBrowser,
                                                    role: str) -> None:
    with catalogue.unit() as uow:
        cid = store.create_campaign(uow, store.CampaignSpec(
            "code", "Read only", *WEEK, percent_bp=1000))
        store.add_code(uow, cid, "LOOKONLY")
    b = staff(role)
    menu = b.get("/admin")
    assert 'data-section="campaigns"' in menu.text
    listing = b.get("/admin/campaigns")
    assert listing.status_code == 200 and "Read only" in listing.text
    assert 'id="new-campaign"' not in listing.text
    page = b.get(f"/admin/campaigns/{cid}")
    assert page.status_code == 200 and "LOOKONLY" in page.text
    assert 'id="pause-form"' not in page.text and 'id="batch-form"' not in page.text
    assert b.get("/admin/campaigns/new").status_code == 403
    here = f"/admin/campaigns/{cid}"
    for action, data in (("/admin/campaigns/new", {**BASE, "kind": "cashback", "percent": "5"}),
                         (f"{here}/pause", {}), (f"{here}/end", {}),
                         (f"{here}/codes", {"code": "SNEAKY"}),
                         (f"{here}/codes/batch", {"count": "3"}), (f"{here}/codes/export", {})):
        assert b.submit(here, action, data).status_code == 403, action
    with catalogue.unit(readonly=True) as uow:
        assert store.get(uow, cid).state == "active"
    assert count(catalogue) == 1 and count(catalogue, promo_codes) == 1
    assert count(catalogue, audit_log) == 0


def test_pause_resume_and_end(catalogue: Database, staff: StaffBrowser) -> None:
    with catalogue.unit() as uow:
        cid = store.create_campaign(uow, store.CampaignSpec(
            "discount", "Flash sale", *WEEK, percent_bp=2000))
    b = staff("admin")
    here = f"/admin/campaigns/{cid}"
    paused = b.submit(here, f"{here}/pause", {})
    assert paused.status_code == 200 and 'id="campaign-state">Paused' in paused.text
    assert 'id="resume-form"' in paused.text
    assert b.get("/admin/campaigns?state=paused").text.count("data-campaign=") == 1
    assert b.get("/admin/campaigns?state=active").text.count("data-campaign=") == 0
    resumed = b.submit(here, f"{here}/resume", {})
    assert 'id="campaign-state">Running' in resumed.text
    ended = b.submit(here, f"{here}/end", {})
    assert 'id="campaign-state">Ended' in ended.text and 'id="state-actions"' not in ended.text
    again = b.submit(here, f"{here}/resume", {})
    assert again.status_code == 409 and "cannot be changed" in again.text
    assert b.submit(here, f"{here}/codes/export", {}).status_code == 422  # a discount has none
    with catalogue.unit(readonly=True) as uow:
        assert store.get(uow, cid).state == "ended"
        actions = uow.conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)
                                   ).scalars().all()
    assert actions == ["campaign.pause", "campaign.resume", "campaign.end"]


def test_codes_are_added_made_in_a_batch_and_downloaded_uncached_and_audited(
        catalogue: Database, staff: StaffBrowser) -> None:
    with catalogue.unit() as uow:
        cid = store.create_campaign(uow, store.CampaignSpec(
            "code", "=Trip codes", *WEEK, amount_off=5_00, currency="CNY"))
    b = staff("admin", lang="zh-CN")
    here = f"/admin/campaigns/{cid}"
    added = b.submit(here, f"{here}/codes", {"code": "winter-26", "max_uses": "100"})
    assert added.status_code == 200 and "WINTER26" in added.text
    twice = b.submit(here, f"{here}/codes", {"code": "WINTER 26"})
    assert twice.status_code == 422
    assert re.search(r'id="e-code">该优惠码已存在。<', twice.text), twice.text[:2000]
    too_many = b.submit(here, f"{here}/codes/batch", {"count": "10001"})
    assert too_many.status_code == 422 and 'id="e-count"' in too_many.text

    r = b.submit(here, f"{here}/codes/batch", {"count": "5", "prefix": "trip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "no-store" in r.headers["cache-control"] and r.headers["pragma"] == "no-cache"
    assert r.headers["content-disposition"].startswith(
        f'attachment; filename="campaign-{cid}-codes-')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 5 and all(row["code"].startswith("TRIP") for row in rows)
    assert {row["max_uses"] for row in rows} == {"1"}
    assert {row["campaign"] for row in rows} == {"'=Trip codes"}  # no formula in a spreadsheet
    with catalogue.unit(readonly=True) as uow:
        kept = set(uow.conn.execute(select(promo_codes.c.code).where(
            promo_codes.c.max_uses == 1)).scalars())
        logged = uow.conn.execute(select(audit_log.c.action, audit_log.c.data).where(
            audit_log.c.action == "campaign.codes_download")).one()
    assert kept == {row["code"] for row in rows}
    assert logged.data["sha256"] == hashlib.sha256(r.content).hexdigest()
    assert logged.data["made"] == 5
    assert not any(row["code"] in str(logged.data) for row in rows)  # the log keeps no code

    page = b.get(here)
    assert re.search(r'<span class="big">6</span>', page.text)  # 6 codes in all
    everything = b.submit(here, f"{here}/codes/export", {})
    assert "no-store" in everything.headers["cache-control"]
    assert len(list(csv.DictReader(io.StringIO(everything.text)))) == 6
    assert count(catalogue, audit_log) == 3  # the shared code, and two downloads


def _code_priced(db: Database, cid: int, amount: int):  # type: ignore[no-untyped-def]
    with db.unit(readonly=True) as uow:
        campaign = store.get(uow, cid).campaign
    return price_items([Item("topup", amount)], Context(WEEK[0], "CNY", "web"), [campaign],
                       code=campaign)


def test_the_report_counts_uptake_cost_and_revenue(catalogue: Database,
                                                   staff: StaffBrowser) -> None:
    with catalogue.unit() as uow:
        cid = store.create_campaign(uow, store.CampaignSpec(
            "code", "Report", *WEEK, amount_off=3_00, currency="CNY", scope=Scope(topups=True)))
        store.add_code(uow, cid, "REPORT26")
    customer, made = orders(catalogue, 4)  # 10.00, 10.01, 10.02, 10.03 CNY
    priced = _code_priced(catalogue, cid, 10_00)
    assert priced.adjustments[0].amount == 3_00
    with catalogue.unit() as uow:
        _, code = store.find_code(uow, "REPORT26")
        for order_id in made:
            store.hold(uow, order_id, customer, "CNY", store.benefits(priced), code_id=code.id)
        store.settle(uow, made[0], "applied")
        store.settle(uow, made[1], "applied")
        store.settle(uow, made[2], "released")  # made[3] stays held
    b = staff("finance")
    page = b.get(f"/admin/campaigns/{cid}")
    assert page.status_code == 200
    figures = dict(re.findall(r'data-state="(\w+)"><span class="big">(\d+)</span>', page.text))
    assert figures == {"held": "1", "applied": "2", "released": "1", "reversed": "0"}
    assert re.search(r'id="report-orders">2<', page.text)
    cost = re.search(r'id="report-cost"><span data-currency="CNY">([^<]+)<', page.text)
    revenue = re.search(r'id="report-revenue"><span data-currency="CNY">([^<]+)<', page.text)
    assert cost and cost.group(1).endswith("6.00")
    assert revenue and revenue.group(1).endswith("20.01")  # 10.00 + 10.01
    assert page.text.count('<rect class="s') == 3  # one day, three states stacked
    # the counters: held and applied redemptions count, the released one was given back
    assert re.search(r'id="fact-uses">3 / ∞<', page.text)
    spent = re.search(r'id="fact-spent">([^<]+) / ∞<', page.text)
    assert spent and spent.group(1).endswith("9.00")
    row = re.search(rf'<tr data-campaign="{cid}".*?</tr>', b.get("/admin/campaigns").text,
                    re.DOTALL)
    assert row and "3 / ∞" in row.group(0) and "9.00 / ∞" in row.group(0)
