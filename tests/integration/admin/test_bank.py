"""The bank review queue in the console: finance uploads a statement, exact payments settle
their orders, the rest waits; finance dismisses one with a note and tops up a wallet with
another; nothing can be credited twice; support and unconfigured consoles are told so."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.factories import Api, make_line
from tests.integration.admin.conftest import StaffBrowser
from tests.integration.admin.test_vouchers import assert_links_answer
from tests.integration.portal.conftest import Browser, csrf_of
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.payments.providers import bank as bank_package
from topup.payments.registry import ProviderContext

ENV = {"TOPUP_BANK_ACCOUNT_NAME": "Wanderlust Mobile GmbH",
       "TOPUP_BANK_IBAN": "DE89370400440532013000", "TOPUP_BANK_BIC": "COBADEFFXXX"}


def bank_provider(db: Database) -> Any:
    return bank_package.from_settings(ProviderContext(env=ENV, settings=db.settings, db=db))


def traveller_orders(db: Database, provider: Any, *amounts: int) -> tuple[int, list[dict]]:
    """A EUR line whose traveller orders top-ups by bank transfer; the line and the orders."""
    api = Api(db, {"bank": provider})
    line = make_line(db, currency="EUR", country="DE", secret="2718")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "2718"})
    made = []
    for n, amount in enumerate(amounts):
        r = api.post("/api/v1/orders", me, key=f"o{n}", json={
            "line_id": line.id, "kind": "topup", "amount": amount, "method": "bank",
            "confirm_duplicate": True})
        assert r.status_code == 201, r.text
        made.append(r.json())
    return line.id, made


def statement(first: dict, second: dict) -> bytes:
    """The bank's CSV: the first order paid exactly, the second short, one payment unknown."""
    rows = ["entry_ref,booking_date,amount,currency,reference,payer_name",
            f'E-1,2026-11-26,20.00,EUR,"Top-up {first["next_action"]["value"]}",Lena Fischer',
            f'E-2,2026-11-26,30.00,EUR,{second["next_action"]["value"]},Marco Rossi',
            "E-3,2026-11-26,12.34,EUR,Danke fuer alles,Anna Weber",
            "E-4,2026-11-26,-4.90,EUR,Kontofuehrung,"]
    return ("\n".join(rows) + "\n").encode()


def upload(b: Browser, data: bytes, fmt: str = "csv") -> httpx.Response:
    page = b.get("/admin/bank")
    return b.client.post("/admin/bank/statements",
                         data={"csrf_token": csrf_of(page.text), "format": fmt},
                         files={"statement": ("statement.csv", data, "text/csv")})


def items(html: str) -> dict[str, int]:
    """Open items on the page, by reason."""
    return {reason: int(i) for i, reason in
            re.findall(r'data-item="(\d+)" data-reason="(\w+)"', html)}


def wallet(db: Database, line_id: int) -> int:
    with db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, line_id).get("EUR")
        return found.posted if found else 0


def test_finance_imports_a_statement_and_works_the_queue(db: Database, staff: StaffBrowser
                                                         ) -> None:
    provider = bank_provider(db)
    line_id, (first, second) = traveller_orders(db, provider, 20_00, 50_00)
    b = staff("finance", providers={"bank": provider})
    data = statement(first, second)
    r = upload(b, data)
    assert r.status_code == 200, r.text[:500]
    figures = {k: int(v) for k, v in re.findall(r'id="imported-(\w+)">(\d+)<', r.text)}
    assert figures == {"payments": 3, "credited": 1, "review": 2, "already": 0}
    assert wallet(db, line_id) == 20_00
    waiting = items(r.text)
    assert set(waiting) == {"partial", "unmatched"}

    partial = f"/admin/bank/{waiting['partial']}"
    shown = b.get(partial)
    assert "Marco Rossi" in shown.text and "30.00" in shown.text
    refused = b.submit(partial, f"{partial}/resolve", {
        "action": "credit_order", "order_id": str(second["id"]), "line": "",
        "note": "try to credit"})
    assert refused.status_code == 422
    assert "cannot be resolved that way" in refused.text and "only a payment of exactly" \
        in refused.text
    no_note = b.submit(partial, f"{partial}/resolve", {"action": "dismiss", "note": ""})
    assert no_note.status_code == 422 and "Say what was done in a note." in no_note.text
    dismissed = b.submit(partial, f"{partial}/resolve", {
        "action": "dismiss", "order_id": "", "line": "",
        "note": "paid back 30.00 EUR to the payer"})
    assert "The payment is resolved." in dismissed.text
    assert 'id="item-note">paid back 30.00 EUR to the payer<' in dismissed.text
    assert 'id="resolve-form"' not in dismissed.text

    unknown = f"/admin/bank/{waiting['unmatched']}"
    credited = b.submit(unknown, f"{unknown}/resolve", {
        "action": "credit_wallet", "order_id": "", "line": _iccid(db, line_id),
        "note": "Anna phoned: her line"})
    assert "The payment is resolved." in credited.text and 'id="item-order"' in credited.text
    assert wallet(db, line_id) == 20_00 + 12_34
    page = b.get(unknown)
    token = csrf_of(page.text)
    twice = b.client.post(f"{unknown}/resolve", data={
        "csrf_token": token, "action": "credit_wallet", "line": _iccid(db, line_id),
        "note": "again"})
    assert twice.status_code == 422 and wallet(db, line_id) == 20_00 + 12_34

    again = upload(b, data)
    figures = {k: int(v) for k, v in re.findall(r'id="imported-(\w+)">(\d+)<', again.text)}
    assert figures["already"] == 3 and figures["credited"] == 0
    assert items(again.text) == {}
    assert set(items(b.get("/admin/bank?state=dismissed").text)) == {"partial"}
    assert wallet(db, line_id) == 20_00 + 12_34
    assert_links_answer(b, "/admin/bank?state=credited", "/admin/bank?state=dismissed",
                        partial, unknown)


def _iccid(db: Database, line_id: int) -> str:
    from topup.subscribers.lines import get_line

    with db.unit(readonly=True) as uow:
        return get_line(uow, line_id).iccid


def test_refusals_are_translated_and_bad_files_refused(db: Database, staff: StaffBrowser
                                                       ) -> None:
    provider = bank_provider(db)
    _, (first, second) = traveller_orders(db, provider, 20_00, 50_00)
    zh = staff("finance", lang="zh-CN", providers={"bank": provider})
    bad = upload(zh, b"date;amount\n1;2\n")
    assert bad.status_code == 422 and "银行对账单被拒绝" in bad.text and "entry_ref" in bad.text
    upload(zh, statement(first, second))
    waiting = items(zh.get("/admin/bank").text)
    partial = f"/admin/bank/{waiting['partial']}"
    refused = zh.submit(partial, f"{partial}/resolve", {
        "action": "credit_order", "order_id": str(second["id"]), "note": "试一下"})
    assert refused.status_code == 422 and "无法以此方式处理该银行款项" in refused.text
    empty = zh.submit(partial, f"{partial}/resolve", {"action": "dismiss", "note": ""})
    assert "请在备注中说明处理方式。" in empty.text


def test_without_the_bank_provider_the_console_says_so(db: Database, staff: StaffBrowser
                                                       ) -> None:
    b = staff("finance")
    page = b.get("/admin/bank")
    assert page.status_code == 200 and 'id="not-configured"' in page.text
    assert 'id="upload-form"' not in page.text
    r = upload(b, b"entry_ref,booking_date,amount,currency,reference,payer_name\n")
    assert r.status_code == 422 and "Bank transfer is not configured." in r.text


def test_only_finance_and_admins_see_the_queue(db: Database, staff: StaffBrowser) -> None:
    provider = bank_provider(db)
    support = staff("support", providers={"bank": provider})
    assert support.get("/admin/bank").status_code == 403
    token = csrf_of(support.get("/admin").text)
    r = support.client.post("/admin/bank/statements", data={"csrf_token": token,
                                                             "format": "csv"},
                            files={"statement": ("s.csv", b"x", "text/csv")})
    assert r.status_code == 403
    assert support.client.post("/admin/bank/1/resolve", data={
        "csrf_token": token, "action": "dismiss", "note": "nope"}).status_code == 403
    assert staff("admin", providers={"bank": provider}).get("/admin/bank").status_code == 200
