"""A line's auto top-up set and switched off over the API, on the portal's line page and by
SMS keyword; bad input is refused as problem+json (API) or next to its field (portal); no one
but the line's customer reads or sets it (404)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import make_line, make_user
from tests.integration.jobs.autotopup_world import Traveller, traveller
from tests.integration.payments.stripe_peer import StripePeer
from tests.integration.payments.test_saved_methods import peer as peer
from tests.integration.portal.conftest import Browser
from topup.channels.sms.keywords import handle_inbound
from topup.db.uow import Database
from topup.notifications.service import queued_for
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

PROBLEM = "application/problem+json"


@pytest.fixture
def t(catalogue: Database, peer: StripePeer) -> Iterator[Traveller]:
    yield traveller(catalogue, peer)


def path(t: Traveller, line_id: int | None = None) -> str:
    return f"/api/v1/lines/{line_id or t.line_id}/auto-topup"


def refused(r: Any, status: int, code: str, field: str | None = None) -> None:
    assert (r.status_code, r.headers["content-type"]) == (status, PROBLEM), r.text
    assert r.json()["code"] == code, r.text
    if field is not None:
        assert r.json().get("field") == field, r.text


def test_set_read_and_switch_off_over_the_api(t: Traveller) -> None:
    card = t.save_card(t.me)
    refused(t.api.client.get(path(t), headers=t.me), 404, "auto_topup_not_found")
    refused(t.api.client.delete(path(t), headers=t.me), 404, "auto_topup_not_found")
    r = t.set_rule(card["id"], max_per_day=2, max_amount_per_day=100_00)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("enabled", "armed", "threshold", "amount", "currency",
                                 "max_per_day", "max_amount_per_day", "last_outcome")} == {
        "enabled": True, "armed": True, "threshold": 10_00, "amount": 50_00, "currency": "CNY",
        "max_per_day": 2, "max_amount_per_day": 100_00, "last_outcome": None}
    assert body["payment_method"] == {"id": card["id"], "provider": "stripe", "brand": "visa",
                                      "last4": "4242"}
    assert t.api.client.get(path(t), headers=t.me).json() == body
    default = t.set_rule(card["id"], threshold=0).json()
    assert default["max_per_day"] == 3 and default["max_amount_per_day"] is None

    assert t.api.client.delete(path(t), headers=t.me).status_code == 204
    off = t.api.client.get(path(t), headers=t.me).json()
    assert (off["enabled"], off["armed"]) == (False, False)
    t.set_rule(card["id"])
    assert t.api.client.delete(path(t), headers=t.me).status_code == 204
    assert t.run() == 0 and t.auto_orders() == [], "off: the empty wallet fires nothing"
    assert t.set_rule(card["id"]).json()["armed"] and t.run() == 1


def test_bad_input_is_refused_as_problem_json(t: Traveller) -> None:
    card = t.save_card(t.me)
    _, theirs_headers = t.api.as_new()
    theirs = t.save_card(theirs_headers)
    refused(t.set_rule(card["id"], amount=5_00), 422, "topup_out_of_limits", "amount")
    refused(t.set_rule(card["id"], amount=2_000_01), 422, "topup_out_of_limits", "amount")
    refused(t.set_rule(theirs["id"]), 422, "invalid_auto_topup", "payment_method_id")
    refused(t.set_rule(987654), 422, "invalid_auto_topup", "payment_method_id")
    refused(t.set_rule(card["id"], threshold=-1), 422, "validation_failed")
    refused(t.set_rule(card["id"], threshold=10.5), 422, "validation_failed")
    refused(t.set_rule(card["id"], max_per_day=4), 422, "invalid_auto_topup", "max_per_day")
    refused(t.set_rule(card["id"], max_amount_per_day=40_00), 422, "invalid_auto_topup",
            "max_amount_per_day")
    refused(t.set_rule(card["id"], currency="USD"), 422, "invalid_auto_topup", "currency")
    zh = t.api.client.put(path(t), headers={**t.me, "Accept-Language": "zh-CN"}, json={
        "threshold": 10_00, "amount": 50_00, "payment_method_id": theirs["id"]})
    assert zh.json()["title"] == "自动充值设置无效"
    refused(t.api.client.get(path(t), headers=t.me), 404, "auto_topup_not_found")
    with t.db.unit() as uow:
        line_svc.freeze(uow, t.line_id, actor=None, reason="fraud check")
    refused(t.set_rule(card["id"]), 409, "line_not_usable")


def test_no_one_else_reads_or_sets_it(t: Traveller) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])
    _, stranger = t.api.as_new()
    stranger_card = t.save_card(stranger)
    admin = t.api.login(str(make_user(t.db, "admin").email))
    for headers in (stranger, admin):
        refused(t.api.client.get(path(t), headers=headers), 404, "line_not_found")
        refused(t.set_rule(stranger_card["id"], headers=headers), 404, "line_not_found")
        refused(t.api.client.delete(path(t), headers=headers), 404, "line_not_found")
    assert t.rule().enabled and t.rule().method_id == card["id"]
    assert t.api.client.get(path(t)).status_code == 401


def portal(t: Traveller) -> Browser:
    b = Browser(t.db, {"stripe": t.provider})
    b.client.app.state.saved_methods = {"stripe": t.saver}
    assert b.login(str(t.user.email)).status_code == 200
    return b


def test_set_and_switch_off_on_the_portal(t: Traveller) -> None:
    card = t.save_card(t.me)
    b, page = portal(t), f"/lines/{t.line_id}"
    shown = b.get(page).text
    assert 'data-state="off"' in shown and f'<option value="{card["id"]}"' in shown
    assert "Visa *4242" in shown
    form = {"threshold": "10.00", "amount": "50", "method": str(card["id"]),
            "max_per_day": "2", "max_amount_per_day": ""}
    on = b.submit(page, f"{page}/auto-topup", form)
    assert on.status_code == 200 and on.url.path == page and "Auto top-up is on." in on.text
    assert ("On: when the balance falls below CN¥10.00, CN¥50.00 is charged to Visa *4242, "
            "at most 2 times a day.") in on.text
    assert 'name="threshold" type="text" value="10.00"' in on.text
    rule = t.rule()
    assert (rule.threshold, rule.amount, rule.max_per_day, rule.enabled) == (
        10_00, 50_00, 2, True)

    off = b.submit(page, f"{page}/auto-topup/off", {})
    assert "Auto top-up is off." in off.text and 'data-state="off"' in off.text
    assert not t.rule().enabled
    assert t.run() == 0 and t.auto_orders() == []


def test_the_portal_form_says_what_to_change(t: Traveller) -> None:
    card = t.save_card(t.me)
    _, stranger = t.api.as_new()
    theirs = t.save_card(stranger)
    b, page = portal(t), f"/lines/{t.line_id}"
    good = {"threshold": "10.00", "amount": "50.00", "method": str(card["id"]),
            "max_per_day": "3", "max_amount_per_day": ""}
    cases = [({"amount": "5"}, "A top-up must be between CN¥10.00 and CN¥2,000.00."),
             ({"threshold": "-1"}, "Enter a balance of 0 or more."),
             ({"threshold": "ten"}, "Enter an amount such as 100.00."),
             ({"max_per_day": "9"}, "Choose from 1 to 3 top-ups a day."),
             ({"method": str(theirs["id"])}, "Choose one of your saved cards."),
             ({"max_amount_per_day": "20"},
              "The daily limit must be at least the top-up amount.")]
    for change, message in cases:
        r = b.submit(page, f"{page}/auto-topup", {**good, **change})
        assert r.status_code == 422 and message in r.text, (change, r.text[-3000:])
        assert 'aria-invalid="true"' in r.text
    assert t.api.client.get(path(t), headers=t.me).status_code == 404, "nothing was saved"
    with t.db.unit() as uow:
        auth.update_profile(uow, t.user.id, language="zh-CN")  # a signed-in user's language
    r = b.submit(page, f"{page}/auto-topup", {**good, "threshold": "-1"})
    assert "自动充值" in r.text and "请输入 0 或以上的余额。" in r.text


def test_another_traveller_cannot_use_the_portal_form(t: Traveller) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])
    other = Browser(t.db, {"stripe": t.provider})
    other.client.app.state.saved_methods = {"stripe": t.saver}
    other.register()
    theirs = make_line(t.db, secret="3141")
    assert other.bind(theirs, "3141").status_code == 200
    own = f"/lines/{theirs.id}"
    for action in (f"/lines/{t.line_id}/auto-topup", f"/lines/{t.line_id}/auto-topup/off"):
        r = other.submit(own, action, {"threshold": "0", "amount": "10", "method": "1",
                                       "max_per_day": "1"})
        assert r.status_code == 404 and "Line not found" in r.text
    assert t.rule().enabled and t.rule().threshold == 10_00


def test_switched_off_by_sms_keyword_in_either_language(t: Traveller) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])
    with t.db.unit(readonly=True) as uow:
        number = f"+{line_svc.get_line(uow, t.line_id).msisdn}"
    reply = handle_inbound(t.db, number, "auto off", message_id="smsc-1")
    assert reply == "Auto top-up is off. Set it up again on your line's page in the app."
    assert handle_inbound(t.db, number, "auto off", message_id="smsc-1") == reply
    assert not t.rule().enabled
    t.set_rule(card["id"])
    with t.db.unit() as uow:
        auth.update_profile(uow, t.user.id, language="zh-CN")
    assert handle_inbound(t.db, number, "关闭自动充值") == (
        "已关闭自动充值。如需重新开启，请在App的号码页面设置。")
    assert not t.rule().enabled and t.run() == 0 and t.auto_orders() == []
    with t.db.unit(readonly=True) as uow:
        texts = [m["params"]["text"] for m in queued_for(uow, number)
                 if m["template"] == "selfservice_reply"]
    assert len(texts) == 2, "the repeated delivery was answered once"
