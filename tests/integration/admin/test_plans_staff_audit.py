"""Plans and prices, staff logins and the audit log in the console."""

from __future__ import annotations

import re

import pytest

from tests.integration.admin.conftest import StaffBrowser, sign_in_as
from tests.integration.portal.conftest import PASSWORD, Browser, Shop, csrf_of, plan_id
from topup.audit.service import entries
from topup.catalog import service as catalog
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog


@pytest.fixture
def catalogue(db: Database) -> Database:
    with db.unit() as uow:
        seed_catalog(uow)
    return db


NEW = {"code": "TH-3D-2GB", "name_en": "Thailand 3 days 2GB", "name_zh": "泰国 3天 2GB",
       "zone_code": "TH", "kind": "day", "data_gb": "2", "voice_minutes": "0",
       "sms_count": "0", "validity_days": "3", "validity_start": "purchase",
       "renew_on": "expiry", "priority": "100", "active": "on", "new_currency": "cny",
       "new_price": "19.90"}


def test_an_admin_creates_a_plan_and_changes_its_prices(catalogue: Database,
                                                        staff: StaffBrowser) -> None:
    b = staff("admin")
    made = b.submit("/admin/plans/new", "/admin/plans", NEW)
    assert made.status_code == 200 and "The plan is saved." in made.text
    with catalogue.unit(readonly=True) as uow:
        plan = catalog.get_plan_by_code(uow, "TH-3D-2GB")
    assert plan.prices == {"CNY": 19_90} and plan.data_bytes == 2 * 1024**3
    assert plan.validity_days == 3 and plan.active
    page = f"/admin/plans/{plan.id}"
    changed = b.submit(page, "/admin/plans", {
        **{k: v for k, v in NEW.items() if k not in ("code", "new_currency", "new_price",
                                                     "active")},
        "plan_id": str(plan.id), "price_CNY": "17.90", "new_currency": "USD",
        "new_price": "2.99"})
    assert changed.status_code == 200, changed.text[:500]
    with catalogue.unit(readonly=True) as uow:
        plan = catalog.get_plan(uow, plan.id)
        [entry, *_] = entries(uow, f"plan:{plan.id}")
    assert plan.prices == {"CNY": 17_90, "USD": 2_99} and not plan.active  # box unticked
    assert entry["action"] == "plan.upsert"
    listed = b.get("/admin/plans", params={"q": "3D-2GB"})
    assert 'data-plan="TH-3D-2GB"' in listed.text and "$2.99" in listed.text


@pytest.mark.parametrize(("change", "field", "error"), [
    ({"data_gb": "lots"}, "data_gb", "Enter the data in GB"),
    ({"validity_days": "-1"}, "validity_days", "Enter a whole number"),
    ({"new_price": "19.999"}, "new_price", "Enter a price such as"),
    ({"new_price": "", "new_currency": ""}, "new_price", "needs a price"),
    ({"code": "bad code!"}, "code", "plan code"),
    ({"name_zh": ""}, "name_en", "Chinese name"),
])
def test_a_bad_plan_form_says_what_is_wrong(catalogue: Database, staff: StaffBrowser,
                                            change: dict[str, str], field: str, error: str
                                            ) -> None:
    r = staff("admin").submit("/admin/plans/new", "/admin/plans", {**NEW, **change})
    assert r.status_code == 422 and error in r.text, r.text[-3000:]
    assert f'id="e-{field}"' in r.text
    with catalogue.unit(readonly=True) as uow:
        assert not catalog.list_plans(uow, q="TH-3D-2GB", include_inactive=True)


def test_support_reads_plans_but_cannot_change_them(catalogue: Database, staff: StaffBrowser
                                                    ) -> None:
    b = staff("support")
    page = b.get(f"/admin/plans/{plan_id(catalogue, 'TH-7D-10GB')}")
    assert page.status_code == 200 and 'id="save-plan"' not in page.text
    assert "<fieldset" in page.text and "disabled" in page.text
    assert b.get("/admin/plans/new").status_code == 403
    r = b.client.post("/admin/plans", data={**NEW, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 403


def test_an_admin_creates_staff_and_disables_them(db: Database, staff: StaffBrowser) -> None:
    b = staff("admin")
    made = b.submit("/admin/staff", "/admin/staff", {
        "email": "helpdesk@example.com", "role": "support", "password": PASSWORD})
    assert made.status_code == 200 and "The login is created." in made.text
    desk = Browser(db)
    assert desk.login("helpdesk@example.com").url.path == "/admin"
    user_id = int(re.search(r'action="/admin/staff/(\d+)/disable"', made.text).group(1))
    short = b.submit("/admin/staff", f"/admin/staff/{user_id}/disable", {})
    assert short.status_code == 422 and "Give a reason" in short.text
    off = b.submit("/admin/staff", f"/admin/staff/{user_id}/disable",
                   {f"reason_{user_id}": "left the company"})
    assert "The login is disabled." in off.text
    assert desk.get("/admin", follow_redirects=False).status_code == 303  # session ended
    assert desk.login("helpdesk@example.com").status_code == 422
    log = b.get("/admin/audit", params={"target": f"user:{user_id}"})
    assert "user.disable" in log.text and "left the company" in log.text
    assert "user.create" in log.text


def test_staff_pages_refuse_bad_input_and_other_roles(db: Database, staff: StaffBrowser) -> None:
    b = staff("admin")
    r = b.submit("/admin/staff", "/admin/staff", {"email": "x", "role": "customer",
                                                  "password": "short"})
    assert r.status_code == 422
    for text in ("Choose a role.", "Enter an e-mail address.", "at least"):
        assert text in r.text
    finance = sign_in_as(db, "finance")
    assert finance.get("/admin/staff").status_code == 403
    assert finance.get("/admin/audit").status_code == 403


def test_the_audit_log_shows_every_staff_action_newest_first(shop: Shop, staff: StaffBrowser
                                                             ) -> None:
    b = staff("admin")
    path = f"/admin/lines/{shop.line.id}"
    b.submit(path, f"{path}/freeze", {"state_reason": "fraud check"})
    b.submit(path, f"{path}/unfreeze", {"state_reason": "cleared"})
    log = b.get("/admin/audit").text
    table = log.split('id="audit"')[1]
    assert table.index("line.unfreeze") < table.index("line.freeze")
    assert b.email in table
