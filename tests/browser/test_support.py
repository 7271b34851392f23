"""Support tickets in chromium, end to end: a payment left pending opens a ticket by itself
after 30 minutes (the sweep run on the server's database with an injected clock); the
traveller finds it in the portal and adds a message; a support login answers in the console;
the answer arrives on the loopback SMTP server with the ticket's Reply-To and shows in the
portal; the traveller answers that e-mail over SMTP and it lands in the ticket too.

Screenshots (phone and desktop): the traveller's requests, a request's conversation (English
and Chinese), the new-request form opened from an order, the console's queue and ticket.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.support import (
    ADMIN,
    TRAVELLER,
    Live,
    Shooter,
    Watched,
    checked_page,
    expect,
    own_server,
    sign_in,
    smtp_settings,
)
from tests.integration.notifications.peers import SmtpPeer, free_port
from topup import bootstrap
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.uow import Database
from topup.notifications.delivery import OutboxJob
from topup.support.pending import open_for_late_payments
from topup.support.smtpd import receiver

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SENDER = "help@topup.example"
SUPPORT = ("helpdesk@example.com", "helpdesk-pass-2026")
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpPeer]:
    """The traveller's mail server: every e-mail the platform sends lands here."""
    peer = SmtpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, inbox: SmtpPeer) -> Iterator[Live]:
    """A server of its own that e-mails over SMTP to ``inbox``."""
    with own_server(tmp_path_factory.mktemp("support"),
                    **smtp_settings(inbox.port, SENDER)) as live:
        yield live


def later(live: Live, minutes: int, inbox: SmtpPeer) -> Database:
    """The server's own database seen through a clock ``minutes`` ahead (the injected clock
    of the sweep and of the worker that delivers what it queued), with the server's
    settings."""
    settings = load_settings(data_dir=live.data_dir, smtp_from=SENDER, public_url=live.url,
                             email_backend="smtp", smtp_host="127.0.0.1", smtp_port=inbox.port)
    clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=minutes))
    return bootstrap.database(settings, clock)


def deliver(db: Database) -> None:
    """What ``topup worker`` does with the outbox, at the database's clock."""
    senders = bootstrap.senders(db.settings)
    job = OutboxJob(senders, interval=1, batch=20)
    try:
        while job.run(db):
            pass
    finally:
        for sender in senders.values():
            sender.close()


def pending_order(live: Live) -> dict[str, Any]:
    """The demo traveller's 88.00 CNY top-up by card, left unpaid at the sandbox."""
    with live.api(TRAVELLER) as me:
        [line] = [x for x in me.get("/api/v1/lines").json() if x["currency"] == "CNY"]
        r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "line_id": line["id"], "kind": "topup", "method": "sandbox", "amount": 88_00,
            "confirm_duplicate": True})
    assert r.status_code == 201, r.text
    return dict(r.json())


def support_login(live: Live) -> None:
    with live.api(ADMIN) as admin:
        r = admin.post("/api/v1/admin/staff", json={
            "email": SUPPORT[0], "password": SUPPORT[1], "role": "support"})
    assert r.status_code == 201, r.text


def mail_to(inbox: SmtpPeer, template_words: str) -> EmailMessage:
    """The newest e-mail whose text says ``template_words``."""
    for got in reversed(inbox.received):
        body = got.message.get_body(("plain",))
        if body is not None and template_words in body.get_content():
            return got.message
    raise AssertionError(f"no e-mail saying {template_words!r} among "
                         f"{[str(r.message['Subject']) for r in inbox.received]}")


def traveller_writes(page: Page, ticket_id: int, shoot: Shooter) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Support").click()
    expect(page.locator(f'[data-ticket="{ticket_id}"]')).to_be_visible()
    shoot(page, "support-requests")
    page.locator(f'[data-ticket="{ticket_id}"] a').click()
    expect(page.locator("#thread")).to_contain_text("you do not need to pay again")
    page.get_by_label("Your message").fill("I paid by card at 10:02, the bank shows it.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#thread li").last).to_contain_text("I paid by card at 10:02")
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "open")
    shoot(page, "support-request")


def support_answers(browser: Browser, desk: Live, watched: Watched, ticket_id: int,
                    shoot: Shooter) -> None:
    with checked_page(browser, desk, watched) as staff:
        sign_in(staff, SUPPORT)
        staff.goto("/admin/tickets")
        row = staff.locator(f'#ticket-queue [data-ticket="{ticket_id}"]')
        expect(row).to_contain_text("not received yet")
        shoot(staff, "support-queue")
        row.get_by_role("link").first.click()
        expect(staff.locator("#ticket-order")).to_contain_text("88.00")
        staff.get_by_label("Internal note").fill("Sandbox: authorised, capture late.")
        staff.get_by_role("button", name="Add the note").click()
        staff.get_by_label("Answer to the traveller").fill(
            "We found your payment: the top-up is on its way.")
        staff.get_by_role("button", name="Send the answer").click()
        expect(staff.locator("#ticket-state")).to_have_attribute("data-state", "waiting")
        shoot(staff, "support-console-ticket")
        staff.goto("/admin/tickets/report")  # first response and resolution times
        expect(staff.locator("#ticket-times tbody tr")).not_to_have_count(0)
        shoot(staff, "support-report")


def answer_by_email(desk: Live, inbox: SmtpPeer, reply: EmailMessage) -> None:
    """The traveller answers the e-mail; ``topup mail-in``'s receiver takes it."""
    answer = EmailMessage()
    answer["From"] = TRAVELLER[0]
    answer["To"] = str(reply["Reply-To"])
    answer["Subject"] = "Re: " + str(reply["Subject"])
    answer["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example>"
    answer.set_content("Credited now, thank you!\n\nOn Sat, Support wrote:\n> We found it")
    port, db = free_port(), later(desk, 0, inbox)
    server = receiver(db, "127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(answer)
    finally:
        server.stop()
        db.dispose()


def test_a_late_payment_becomes_a_conversation(browser: Browser, desk: Live, inbox: SmtpPeer,
                                               watched: Watched, shoot: Shooter) -> None:
    order = pending_order(desk)
    support_login(desk)
    db = later(desk, 31, inbox)
    try:
        assert open_for_late_payments(db) == 1
        assert open_for_late_payments(db) == 0, "one ticket per order"
        deliver(db)
    finally:
        db.dispose()
    told = mail_to(inbox, f"for order {order['id']}")
    assert "+t" in str(told["Reply-To"]) and str(told["Reply-To"]).endswith("@topup.example")
    ticket_id = int(str(told["Reply-To"]).split("+t", 1)[1].split("-", 1)[0])

    with checked_page(browser, desk, watched, viewport=PHONE) as page:
        sign_in(page, TRAVELLER)
        traveller_writes(page, ticket_id, shoot)
    support_answers(browser, desk, watched, ticket_id, shoot)
    desk.cli("worker", "--once")
    reply = mail_to(inbox, "We found your payment: the top-up is on its way.")
    assert str(reply["Reply-To"]) == str(told["Reply-To"])
    answer_by_email(desk, inbox, reply)

    with checked_page(browser, desk, watched) as page:
        sign_in(page, TRAVELLER)
        page.goto(f"/tickets/{ticket_id}")
        thread = page.locator("#thread")
        expect(thread).to_contain_text("We found your payment: the top-up is on its way.")
        expect(thread).to_contain_text("Credited now, thank you!")
        expect(thread).not_to_contain_text("Sandbox: authorised")  # notes stay inside
        expect(thread).not_to_contain_text("> We found it")  # the quote was cut
        page.goto(f"/orders/{order['id']}")
        page.get_by_role("link", name="Contact support").click()
        expect(page.get_by_label("Subject")).to_have_value("My top-up has not arrived")
        expect(page.get_by_label("Message")).to_contain_text(str(order["id"]))
        shoot(page, "support-new")


def test_the_request_pages_in_chinese(browser: Browser, desk: Live, watched: Watched,
                                      shoot: Shooter) -> None:
    with desk.api(TRAVELLER) as me:
        r = me.post("/api/v1/tickets", json={"subject": "漫游流量", "body": "在日本能用吗？"})
        assert r.status_code == 201, r.text
    try:
        with checked_page(browser, desk, watched) as page:
            sign_in(page, TRAVELLER)
            with desk.api(TRAVELLER) as me:  # the pages follow the account's language
                assert me.patch("/api/v1/auth/me", json={"language": "zh-CN"}).status_code == 200
            for path in ("/tickets", "/tickets/new", f"/tickets/{r.json()['id']}"):
                page.goto(path)
                expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.locator("#thread")).to_contain_text("在日本能用吗？")
            expect(page.get_by_role("button", name="发送")).to_be_visible()
            shoot(page, "support-request-zh")
    finally:
        with desk.api(TRAVELLER) as me:
            me.patch("/api/v1/auth/me", json={"language": "en"})
