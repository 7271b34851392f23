"""Agents in the console: an admin builds a chain with a store, its staff logins and a kiosk
(whose secret is shown once and works), finance funds floats exactly once per payment,
support only reads; the statement and the kiosk's reconciliation show what happened."""

from __future__ import annotations

import re

import httpx

from tests.factories import Api, make_line
from tests.integration.admin.conftest import StaffBrowser
from tests.integration.admin.test_vouchers import assert_links_answer
from tests.integration.agents.conftest import Kiosk
from tests.integration.portal.conftest import Browser, csrf_of
from topup.agents import agents as agent_svc
from topup.agents.floats import float_balance
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.money import Money


def make_agent(db: Database, name: str = "Lucky Mart", kind: str = "store") -> int:
    with db.unit() as uow:
        agent_svc.set_tier(uow, "std", "Standard", 150, 300, actor_id=None)
        return agent_svc.create_agent(uow, agent_svc.AgentSpec(
            kind=kind, name=name, tier="std", country="HK", currency="CNY"), actor_id=None).id


def float_of(db: Database, agent_id: int) -> Money:
    with db.unit() as uow:
        return float_balance(uow, agent_svc.get_agent(uow, agent_id))


def agent_id_of(r: httpx.Response) -> int:
    found = re.fullmatch(r"/admin/agents/(\d+)", r.url.path)
    assert found, (r.url, r.text[:500])
    return int(found.group(1))


def new_agent(b: Browser, **fields: str) -> httpx.Response:
    data = {"kind": "chain", "name": "Lucky Mart", "parent_id": "", "tier": "std",
            "country": "HK", "currency": "CNY", **fields}
    return b.submit("/admin/agents/new", "/admin/agents/new", data)


def credentials(r: httpx.Response) -> tuple[str, str]:
    key = re.search(r'id="key-id">([^<]+)<', r.text)
    secret = re.search(r'id="secret">([^<]+)<', r.text)
    assert key and secret, r.text[:500]
    return key.group(1), secret.group(1)


def test_an_admin_builds_a_chain_with_a_store_staff_and_a_kiosk(db: Database,
                                                                 staff: StaffBrowser) -> None:
    b = staff("admin")
    tier = b.submit("/admin/agents/tiers", "/admin/agents/tiers", {
        "code": "std", "name": "Standard", "topup_bp": "150", "voucher_bp": "300"})
    assert "The commission tier is saved." in tier.text and "1.5%" in tier.text
    chain = agent_id_of(new_agent(b))
    made = new_agent(b, kind="chain", name="Lucky Group", parent_id=str(chain))
    assert made.status_code == 422 and "a chain has no parent" in made.text
    store = agent_id_of(new_agent(b, kind="store", name="Lucky Mart Central",
                                  parent_id=str(chain)))
    listing = b.get("/admin/agents").text
    assert listing.index(f'data-agent="{chain}"') < listing.index(f'data-agent="{store}"')

    page = f"/admin/agents/{store}"
    added = b.submit(page, f"{page}/staff", {"staff_email": "till-1@example.com",
                                             "staff_phone": "", "staff_password": "counter-1234"})
    assert "The staff login is added." in added.text and "till-1@example.com" in added.text
    user_id = re.search(r'data-user="(\d+)"', added.text)
    assert user_id
    removed = b.submit(page, f"{page}/staff/{user_id.group(1)}/remove", {})
    assert "The staff login is removed." in removed.text
    assert "till-1@example.com" not in removed.text

    shown = b.submit(page, f"{page}/terminals", {"terminal_label": "Airport T2 kiosk 3"})
    assert shown.status_code == 200 and "It is shown this once" in shown.text
    key_id, secret = credentials(shown)
    terminal_id = int(re.findall(r'data-terminal="(\d+)"', b.get(page).text)[0])
    assert 'id="fund-form"' in b.get(page).text  # admins may do what finance does
    funded = b.submit(page, f"{page}/float", {"fund_amount": "200.00", "fund_reference": "T-1",
                                              "fund_reason": "paid at the office",
                                              "fund_key": "k1"})
    assert "The float is funded." in funded.text and float_of(db, store).amount == 200_00

    kiosk = Kiosk(Api(db), terminal_id, key_id, secret, lambda: int(db.clock().timestamp()))
    line = make_line(db, msisdn="+85261234567", country="HK")
    sale = kiosk.post("/topups", {"msisdn": "+85261234567", "amount": 50_00, "tender": "cash"})
    assert sale.status_code == 201, sale.text  # the secret shown works

    rotated = b.submit(page, f"/admin/terminals/{terminal_id}/rotate", {})
    _, new_secret = credentials(rotated)
    assert new_secret != secret and "the old one no longer works" in rotated.text
    assert kiosk.get("/me").status_code == 401
    for path in (page, "/admin/agents", f"/admin/terminals/{terminal_id}/reconciliation"):
        assert secret not in b.get(path).text and new_secret not in b.get(path).text

    report = b.get(f"/admin/terminals/{terminal_id}/reconciliation")
    assert 'id="topups">CN¥50.00<' in report.text and f"/admin/orders/{sale.json()['order_id']}" \
        in report.text
    with db.unit(readonly=True) as uow:
        assert ledger.wallets(uow, line.id)["CNY"].posted == 50_00

    disabled = b.submit(page, f"/admin/terminals/{terminal_id}/disable",
                        {f"t{terminal_id}_reason": "kiosk damaged"})
    assert "The terminal is disabled." in disabled.text
    enabled = b.submit(page, f"/admin/terminals/{terminal_id}/enable",
                       {f"t{terminal_id}_reason": "repaired"})
    assert "The terminal is enabled again." in enabled.text
    suspended = b.submit(f"/admin/agents/{chain}", f"/admin/agents/{chain}/suspend",
                         {"state_reason": "contract ended"})
    assert 'id="agent-state">Suspended<' in suspended.text
    assert_links_answer(b, "/admin/agents", page, f"/admin/agents/{chain}",
                        "/admin/agents/tiers", f"/admin/agents/{store}/statement",
                        f"/admin/terminals/{terminal_id}/reconciliation")


def test_finance_funds_a_float_once_per_form_and_per_payment(db: Database,
                                                             staff: StaffBrowser) -> None:
    agent = make_agent(db)
    b = staff("finance")
    page = f"/admin/agents/{agent}"
    shown = b.get(page)
    assert 'id="fund-form"' in shown.text and 'id="terminal-form"' not in shown.text
    key = re.search(r'name="fund_key" value="([^"]+)"', shown.text)
    assert key
    form = {"csrf_token": csrf_of(shown.text), "fund_key": key.group(1),
            "fund_amount": "500.00", "fund_reference": "HSBC-7781", "fund_reason": "bank transfer"}
    first = b.client.post(f"{page}/float", data=form, follow_redirects=False)
    again = b.client.post(f"{page}/float", data=form, follow_redirects=False)  # pressed twice
    assert first.status_code == again.status_code == 303
    assert float_of(db, agent) == Money(500_00, "CNY")
    assert 'id="float-balance"><span class="big">CN¥500.00<' in b.get(page).text

    other_form = b.submit(page, f"{page}/float", {
        "fund_key": "another-form", "fund_amount": "500.00", "fund_reference": "HSBC-7781",
        "fund_reason": "bank transfer"})
    assert "funded the float before; nothing was added" in other_form.text
    conflict = b.submit(page, f"{page}/float", {
        "fund_key": "third-form", "fund_amount": "300.00", "fund_reference": "HSBC-7781",
        "fund_reason": "bank transfer"})
    assert conflict.status_code == 409
    assert "This funding key was used for a different funding" in conflict.text
    assert float_of(db, agent) == Money(500_00, "CNY")

    statement = b.get(f"{page}/statement")
    assert 'id="funded">CN¥500.00<' in statement.text and 'id="reconciles"' in statement.text

    token = csrf_of(shown.text)
    assert b.get("/admin/agents/new").status_code == 403
    for action, data in (("/admin/agents/new", {"kind": "store", "name": "X", "tier": "std",
                                                "country": "HK", "currency": "CNY"}),
                         (f"{page}/suspend", {"state_reason": "no"}),
                         (f"{page}/terminals", {"terminal_label": "kiosk"}),
                         ("/admin/agents/tiers", {"code": "x", "name": "X", "topup_bp": "1",
                                                  "voucher_bp": "1"})):
        assert b.client.post(action, data={"csrf_token": token, **data}).status_code == 403
    with db.unit(readonly=True) as uow:
        assert [a.id for a in agent_svc.list_agents(uow)] == [agent]


def test_support_reads_agents_but_moves_no_money(db: Database, staff: StaffBrowser) -> None:
    agent = make_agent(db)
    b = staff("support")
    page = b.get(f"/admin/agents/{agent}")
    assert page.status_code == 200 and 'id="fund-form"' not in page.text
    r = b.client.post(f"/admin/agents/{agent}/float", data={
        "csrf_token": csrf_of(page.text), "fund_key": "k", "fund_amount": "10.00",
        "fund_reference": "R", "fund_reason": "because"})
    assert r.status_code == 403 and float_of(db, agent).amount == 0
    assert_links_answer(b, "/admin/agents", f"/admin/agents/{agent}")


def test_refusals_are_in_chinese(db: Database, staff: StaffBrowser) -> None:
    agent = make_agent(db)
    admin = staff("admin", lang="zh-CN")
    bad = new_agent(admin, country="Hong Kong", tier="std")
    assert bad.status_code == 422 and "代理商信息无效" in bad.text
    b = staff("finance", lang="zh-CN")
    page = f"/admin/agents/{agent}"
    r = b.submit(page, f"{page}/float", {"fund_key": "k", "fund_amount": "ten",
                                         "fund_reference": "", "fund_reason": "x"})
    assert r.status_code == 422
    assert "请填写代理商的付款参考号。" in r.text and "<html lang=\"zh-CN\"" in r.text
    assert float_of(db, agent).amount == 0
