"""Lines in the console: search, the detail page, freeze and unfreeze, manual credit, sending
a message again; each action gated by role and written to the audit log."""

from __future__ import annotations

import re

import pytest

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.portal.conftest import Shop, credit, csrf_of, hidden
from topup.audit.service import entries
from topup.charging.sessions import Ask, charge
from topup.ledger import service as ledger
from topup.notifications import service as outbox
from topup.subscribers.lines import get_line

MIB = 1024**2


def wallet(shop: Shop) -> int:
    with shop.db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, shop.line.id).get("CNY")
        return found.available if found else 0


def test_search_by_number_iccid_and_email(shop: Shop, staff: StaffBrowser) -> None:
    b = staff("support")
    for q in (shop.line.iccid[-8:], shop.email.upper()[:6]):
        found = b.get("/admin/lines", params={"q": q})
        assert found.status_code == 200
        assert f'data-line="{shop.line.id}"' in found.text, q
        assert shop.email in found.text
    none = b.get("/admin/lines", params={"q": "no-such-person@nowhere"})
    assert "0 lines found" in none.text
    short = b.get("/admin/lines", params={"q": "12"})
    assert "at least 3 characters" in short.text


def test_the_detail_page_shows_the_whole_line(shop: Shop, staff: StaffBrowser) -> None:
    credit(shop.db, shop.line, 30_00)
    page = staff("finance").get(f"/admin/lines/{shop.line.id}")
    assert page.status_code == 200
    html = page.text
    assert "CN¥30.00" in html.split('id="line-balances"')[1][:200]
    assert shop.email in html.split('id="line-owner"')[1][:200]
    orders = html.split('id="line-orders"')[1]
    assert re.search(r'href="/admin/orders/\d+"', orders)
    assert "+CN¥30.00" in html.split('id="line-movements"')[1]
    assert 'id="credit-panel"' in html and 'id="freeze-panel"' not in html  # finance
    assert "No open charging sessions." in html


def test_the_detail_page_shows_live_charging_sessions(shop: Shop, staff: StaffBrowser
                                                      ) -> None:
    credit(shop.db, shop.line, 30_00)
    with shop.db.unit() as uow:  # a gateway holds 4 MiB, then reports 3 and holds 4 more
        line = get_line(uow, shop.line.id)
        charge(uow, "pgw;live;1", 0, "initial", [Ask(1, "data", requested=4 * MIB),
                                                 Ask(2, "sms", requested=2)],
               line=line, country="TH")
        charge(uow, "pgw;live;1", 1, "update", [Ask(1, "data", used=3 * MIB,
                                                    requested=4 * MIB)])
    html = staff("support", lang="zh-CN").get(f"/admin/lines/{shop.line.id}").text
    row = html.split('id="line-sessions"')[1].split("</table>")[0]
    assert "pgw;live;1" in row and "TH" in row
    assert "2 条短信" in row, "held SMS, in Chinese"
    assert row.count("MB") >= 2, "data held and used"
    with shop.db.unit() as uow:
        charge(uow, "pgw;live;1", 2, "terminate", [])
    html = staff("support").get(f"/admin/lines/{shop.line.id}").text
    assert "No open charging sessions." in html


def test_support_freezes_and_unfreezes_with_a_reason(shop: Shop, staff: StaffBrowser) -> None:
    b, path = staff("support"), f"/admin/lines/{shop.line.id}"
    missing = b.submit(path, f"{path}/freeze", {"state_reason": ""})
    assert missing.status_code == 422 and "Give a reason" in missing.text
    done = b.submit(path, f"{path}/freeze", {"state_reason": "lost phone reported"})
    assert done.status_code == 200 and "The line is frozen." in done.text
    with shop.db.unit(readonly=True) as uow:
        assert get_line(uow, shop.line.id).status == "frozen"
        [entry, *_] = entries(uow, f"line:{shop.line.id}")
    assert entry["action"] == "line.freeze" and entry["reason"] == "lost phone reported"
    assert "lost phone reported" in done.text.split('id="line-history"')[1]
    assert b.email in done.text.split('id="line-audit"')[1]
    # the traveller's next top-up is refused
    refused = shop.browser.submit(f"/lines/{shop.line.id}/topup", f"/lines/{shop.line.id}/topup",
                                  {"amount": "5000", "method": "sandbox"})
    assert "frozen" in refused.text.lower()
    back = b.submit(path, f"{path}/unfreeze", {"state_reason": "phone found"})
    assert "The line is unfrozen." in back.text
    with shop.db.unit(readonly=True) as uow:
        assert get_line(uow, shop.line.id).status != "frozen"


def test_a_manual_credit_moves_money_once_per_form(shop: Shop, staff: StaffBrowser) -> None:
    b, path = staff("finance"), f"/admin/lines/{shop.line.id}"
    form = b.get(path).text
    data = {"csrf_token": csrf_of(form), "credit_key": hidden(form, "credit_key"),
            "currency": "CNY", "amount": "25.50", "credit_reason": "refund at the desk"}
    first = b.client.post(f"{path}/credit", data=data)
    again = b.client.post(f"{path}/credit", data=data)  # a double click
    assert first.status_code == again.status_code == 200
    assert "The wallet was credited." in first.text
    assert wallet(shop) == 25_50
    with shop.db.unit(readonly=True) as uow:
        assert [e["action"] for e in entries(uow, f"line:{shop.line.id}")] == [
            "order.manual_credit"]


@pytest.mark.parametrize(("amount", "reason", "error"), [
    ("", "a good reason", "Enter an amount such as"),
    ("-5", "a good reason", "Enter an amount such as"),
    ("1.234", "a good reason", "Enter an amount such as"),
    ("10", "", "Give a reason"),
])
def test_a_bad_credit_form_says_what_is_wrong(shop: Shop, staff: StaffBrowser, amount: str,
                                              reason: str, error: str) -> None:
    b, path = staff("finance"), f"/admin/lines/{shop.line.id}"
    r = b.submit(path, f"{path}/credit", {"amount": amount, "credit_reason": reason,
                                          "currency": "CNY", "credit_key": "k-" + amount})
    assert r.status_code == 422 and error in r.text
    assert wallet(shop) == 0


def test_chinese_refusals(shop: Shop, staff: StaffBrowser) -> None:
    b, path = staff("admin", lang="zh-CN"), f"/admin/lines/{shop.line.id}"
    r = b.submit(path, f"{path}/freeze", {"state_reason": ""})
    assert r.status_code == 422 and "请填写至少" in r.text


@pytest.mark.parametrize(("role", "action"), [
    ("finance", "freeze"), ("support", "credit"), ("customer", "freeze")])
def test_roles_are_held_to_their_part(shop: Shop, staff: StaffBrowser, role: str, action: str
                                      ) -> None:
    b = staff(role)
    page = b.get("/settings")  # any page for a form token
    r = b.client.post(f"/admin/lines/{shop.line.id}/{action}", data={
        "csrf_token": csrf_of(page.text), "state_reason": "trying", "credit_reason": "trying",
        "amount": "10", "credit_key": "x"})
    assert r.status_code == 403
    assert wallet(shop) == 0


def test_sending_a_message_again(shop: Shop, staff: StaffBrowser) -> None:
    credit(shop.db, shop.line, 10_00)  # an order confirmation goes to the traveller
    with shop.db.unit(readonly=True) as uow:
        sent = outbox.messages_to(uow, [shop.email], None)
    assert sent, "the credit should have queued a confirmation"
    b, path = staff("support"), f"/admin/lines/{shop.line.id}"
    page = b.get(path)
    assert f'data-resend="{sent[0].id}"' in page.text
    r = b.client.post(f"{path}/messages/{sent[0].id}/resend",
                      data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "queued to be sent again" in r.text
    with shop.db.unit(readonly=True) as uow:
        after = outbox.messages_to(uow, [shop.email], None)
        assert len(after) == len(sent) + 1 and after[0].template == sent[0].template
        assert entries(uow, f"notification:{sent[0].id}")[0]["action"] == "notification.resend"


def test_a_password_reset_code_is_never_sent_again(shop: Shop, staff: StaffBrowser) -> None:
    shop.browser.submit("/password/forgot", "/password/forgot", {"login": shop.email})
    with shop.db.unit(readonly=True) as uow:
        [code] = [m for m in outbox.messages_to(uow, [shop.email], None)
                  if m.template == "password_reset"]
    b, path = staff("support"), f"/admin/lines/{shop.line.id}"
    page = b.get(path)
    assert f'data-resend="{code.id}"' not in page.text
    r = b.client.post(f"{path}/messages/{code.id}/resend", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 409


def test_a_line_id_out_of_range_is_the_consoles_missing_page(staff: StaffBrowser) -> None:
    page = staff("support", "zh-CN").get("/admin/lines/18446744073709551616")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text and "未找到" in page.text
