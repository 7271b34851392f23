"""Voucher batches in the console: finance creates a batch, downloads its printer file once
(the only place its PINs ever appear), activates it and blocks what was lost; support reads
only; refusals come in the staff's language; every link of the pages answers."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import timedelta

import httpx
import pytest

from tests.factories import make_line, make_user
from tests.integration.admin.conftest import StaffBrowser
from tests.integration.portal.conftest import Browser, csrf_of
from tests.integration.vouchers.conftest import make_batch, wallet
from topup.channels.admin import voucher_file
from topup.channels.admin.vouchers import CONSOLE_MAX_CARDS
from topup.db.uow import Database
from topup.vouchers import service as vouchers

HREF = re.compile(r'href="(/[^"#]*)"')


def assert_links_answer(b: Browser, *pages: str) -> None:
    """Every local link on ``pages`` opens without an error (one level deep)."""
    seen: set[str] = set()
    for path in pages:
        shown = b.get(path)
        assert shown.status_code == 200, (path, shown.status_code)
        for link in HREF.findall(shown.text):
            link = link.replace("&amp;", "&")
            if link in seen or link.startswith("/static/"):
                continue
            seen.add(link)
            r = b.get(link)
            assert r.status_code == 200, (path, link, r.status_code, r.text[:300])


def post(b: Browser, page: str, action: str, **data: str) -> httpx.Response:
    """Submit a form of ``page`` as the browser would (follows the redirect)."""
    return b.submit(page, action, data)


def new_batch(b: Browser, **fields: str) -> httpx.Response:
    data = {"count": "3", "face_amount": "50.00", "plan_id": "", "currency": "CNY",
            "expires_at": "2027-12-31", "pin_length": "16", "distributor": "Lucky Mart",
            "agent_id": "", "label": "Airport shop, December", **fields}
    return b.submit("/admin/vouchers/new", "/admin/vouchers/new", data)


def download(b: Browser, batch_id: int, **data: str) -> httpx.Response:
    page = b.get(f"/admin/vouchers/{batch_id}")
    return b.client.post(f"/admin/vouchers/{batch_id}/generate",
                         data={"csrf_token": csrf_of(page.text), **data})


def batch_id_of(r: httpx.Response) -> int:
    found = re.fullmatch(r"/admin/vouchers/(\d+)", r.url.path)
    assert found, r.url
    return int(found.group(1))


def test_finance_makes_a_batch_and_gets_its_pins_once(db: Database, staff: StaffBrowser
                                                      ) -> None:
    b = staff("finance")
    made = new_batch(b)
    assert made.status_code == 200 and "The batch is created" in made.text
    batch_id = batch_id_of(made)
    assert 'id="generate-form"' in made.text

    unconfirmed = download(b, batch_id)
    assert unconfirmed.status_code == 422 and "keep the file safe" in unconfirmed.text

    r = download(b, batch_id, confirm="on")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="voucher-batch-')
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["serial", "pin", "face_value", "currency", "plan", "expires", "batch"]
    cards = rows[1:]
    assert len(cards) == 3 and all(len(c[1]) == 16 and c[2] == "50.00" for c in cards)
    pins = [c[1] for c in cards]

    again = download(b, batch_id, confirm="on")
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    page = b.get(f"/admin/vouchers/{batch_id}")
    assert hashlib.sha256(r.content).hexdigest() in page.text  # the file's SHA-256, audited
    assert 'id="generate-form"' not in page.text

    activated = post(b, f"/admin/vouchers/{batch_id}", f"/admin/vouchers/{batch_id}/activate",
                     distributor="Lucky Mart", agent_id="")
    assert "its cards can be redeemed" in activated.text
    assert re.search(r'data-state="active"><span class="big">3<', activated.text)

    line = make_line(db)
    done = vouchers.redeem(db, pins[0], line.id, vouchers.RedeemContext(channel="web"))
    assert done.credited is not None and wallet(db, line.id) == 50_00  # the PINs are real

    pages = ["/admin/vouchers", f"/admin/vouchers/{batch_id}",
             f"/admin/vouchers/cards?serial={cards[0][0]}", "/admin/vouchers/new"]
    for path in pages:
        shown = b.get(path).text
        assert not any(pin in shown for pin in pins), path
    used = b.get(f"/admin/vouchers/cards?serial={cards[0][0]}")
    assert 'id="card-state">Used<' in used.text and f"/admin/orders/{done.order_id}" in used.text
    assert_links_answer(b, *pages)


def test_a_download_the_browser_abandons_leaves_the_batch_incomplete(
        db: Database, staff: StaffBrowser) -> None:
    b = staff("finance")
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=voucher_file.CHUNK * 6, face_amount=10_00,
            expires_at=uow.now + timedelta(days=30), distributor="Lucky Mart"), None)
    sink, first = voucher_file.start(db, batch, make_user(db, "finance").id)
    body = sink.body(first)
    received = next(body)
    body.close()  # the browser went away after the first piece
    assert sink.finished.wait(60)
    with db.unit(readonly=True) as uow:
        left = vouchers.get_batch(uow, batch.id)
        serials = [row[0] for row in csv.reader(io.StringIO(received.decode()))][1:]
        assert all(vouchers.get_voucher(uow, s).batch_id == batch.id for s in serials[::500])
    assert not left.complete and len(serials) <= left.generated < batch.count
    page = b.get(f"/admin/vouchers/{batch.id}")
    assert 'id="incomplete"' in page.text and 'id="generate-form"' not in page.text
    r = b.submit(f"/admin/vouchers/{batch.id}", f"/admin/vouchers/{batch.id}/activate",
                 {"distributor": "Lucky Mart"})
    assert r.status_code == 422 and "not all generated" in r.text


def test_a_batch_too_large_for_a_download_names_the_cli(db: Database, staff: StaffBrowser
                                                        ) -> None:
    b = staff("admin")
    made = new_batch(b, count=str(CONSOLE_MAX_CARDS + 1))
    batch_id = batch_id_of(made)
    assert f"topup vouchers generate --batch {batch_id}" in made.text
    r = download(b, batch_id, confirm="on")
    assert r.status_code == 422 and "command line" in r.text
    with db.unit(readonly=True) as uow:
        assert vouchers.get_batch(uow, batch_id).generated == 0


def test_the_form_refuses_in_the_staffs_language(db: Database, staff: StaffBrowser) -> None:
    en = staff("finance")
    both = new_batch(en, plan_id="1", face_amount="10.00")
    assert both.status_code == 422 and "Give a face value, or choose a plan" in both.text
    past = new_batch(en, expires_at="2020-01-01")
    assert past.status_code == 422 and "the expiry must be a time in the future" in past.text
    nobody = new_batch(en, agent_id="999")
    assert nobody.status_code == 422 and "Agent not found" in nobody.text
    zh = staff("finance", lang="zh-CN")
    both = new_batch(zh, face_amount="", count="0")
    assert both.status_code == 422
    assert "请填写面值或选择套餐" in both.text and "请输入大于零的整数" in both.text
    past = new_batch(zh, expires_at="2020-01-01")
    assert past.status_code == 422 and "充值卡批次信息无效" in past.text
    with db.unit(readonly=True) as uow:
        assert vouchers.list_batches(uow) == []


def test_blocking_a_serial_range_then_the_whole_batch(db: Database, staff: StaffBrowser
                                                      ) -> None:
    b = staff("finance")
    made = make_batch(db, count=4)
    first, last = made.cards[1].serial, made.cards[2].serial
    short = post(b, "/admin/vouchers/cards", "/admin/vouchers/cards/block", first=first,
                 last=last, reason="")
    assert short.status_code == 422 and "at least 3 characters" in short.text
    r = post(b, "/admin/vouchers/cards", "/admin/vouchers/cards/block", first=first,
             last=last, reason="shipment box 2 stolen")
    assert r.status_code == 200 and 'id="changed">2 cards changed.' in r.text
    card = b.get(f"/admin/vouchers/cards?serial={first}")
    assert 'id="card-state">Blocked<' in card.text
    r = post(b, "/admin/vouchers/cards", "/admin/vouchers/cards/unblock", first=first,
             last=last, reason="box found again")
    assert 'id="changed">2 cards changed.' in r.text
    assert 'id="card-state">Active<' in b.get(f"/admin/vouchers/cards?serial={first}").text
    unknown = b.get("/admin/vouchers/cards?serial=999999999999")
    assert unknown.status_code == 404 and "No card has this serial number." in unknown.text

    page = f"/admin/vouchers/{made.batch.id}"
    blocked = post(b, page, f"{page}/block", block_reason="dispute with the distributor")
    assert 'id="batch-state">Blocked<' in blocked.text and 'id="unblock-form"' in blocked.text
    assert 'id="card-state">Blocked<' in b.get(f"/admin/vouchers/cards?serial={first}").text
    twice = b.client.post(f"{page}/block", data={"csrf_token": csrf_of(blocked.text),
                                                 "block_reason": "again"})
    assert twice.status_code == 422  # the form says why: it is blocked already
    unblocked = post(b, page, f"{page}/unblock", unblock_reason="dispute settled")
    assert 'id="batch-state">Active<' in unblocked.text
    assert "dispute settled" in unblocked.text  # the audit entries on the batch page
    assert_links_answer(b, page, "/admin/vouchers/cards")


def test_the_list_pages_through_batches_with_their_card_counts(db: Database,
                                                               staff: StaffBrowser) -> None:
    for _ in range(21):
        with db.unit() as uow:
            vouchers.create_batch(uow, vouchers.BatchSpec(
                count=2, face_amount=10_00, expires_at=uow.now + timedelta(days=30)), None)
    made = make_batch(db, count=3)
    b = staff("support")
    first = b.get("/admin/vouchers")
    assert first.text.count("data-batch=") == 20
    assert re.search(rf'data-batch="{made.batch.id}">.*?Active: 3', first.text, re.S)
    older = re.search(r'href="(/admin/vouchers\?before=\d+)"', first.text)
    assert older
    assert b.get(older.group(1)).text.count("data-batch=") == 2
    assert_links_answer(b, "/admin/vouchers")


@pytest.mark.parametrize("role", ["support"])
def test_support_reads_batches_but_changes_nothing(db: Database, staff: StaffBrowser,
                                                   role: str) -> None:
    made = make_batch(db, count=2, activate=False)
    b = staff(role)
    page = b.get(f"/admin/vouchers/{made.batch.id}")
    assert page.status_code == 200 and "activate-form" not in page.text
    assert "block-form" not in page.text and "New batch" not in b.get("/admin/vouchers").text
    assert b.get("/admin/vouchers/new").status_code == 403
    token = csrf_of(page.text)
    for action, data in ((f"/admin/vouchers/{made.batch.id}/activate", {}),
                         (f"/admin/vouchers/{made.batch.id}/block", {"block_reason": "nope"}),
                         ("/admin/vouchers/new", {"count": "1", "face_amount": "1.00"}),
                         ("/admin/vouchers/cards/block", {"first": made.cards[0].serial,
                                                          "last": made.cards[0].serial,
                                                          "reason": "nope"})):
        r = b.client.post(action, data={"csrf_token": token, **data})
        assert r.status_code == 403, action
    with db.unit(readonly=True) as uow:
        assert vouchers.get_batch(uow, made.batch.id).state == "created"
        assert vouchers.get_voucher(uow, made.cards[0].serial).state == "distributed"
