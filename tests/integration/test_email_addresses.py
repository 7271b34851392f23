"""Issue 11, hole 9: ``a,evil@x.co`` was accepted as one e-mail address and became two SMTP
recipients. An address is one mailbox or it is refused, at the API, on the portal, and once
more by the SMTP sender itself."""

from __future__ import annotations

import pytest

from tests.factories import Api
from tests.integration.portal.conftest import PASSWORD, Browser
from topup.db.uow import Database
from topup.notifications.errors import PermanentFailure
from topup.notifications.interfaces import Email
from topup.notifications.senders.smtp import SmtpConfig, SmtpSender
from topup.subscribers.tables import users

NOT_ONE_MAILBOX = ["a,evil@x.co", "a@x.co,b@y.co", "a@x.co;b@y.co", '"a b"@x.co',
                   "a <b@y.co>", "a@x.co\r\nBcc: b@y.co", "a..b@x.co", "a@-x.co", "a@x"]


@pytest.mark.parametrize("address", NOT_ONE_MAILBOX)
def test_the_api_refuses_anything_but_one_mailbox(db: Database, address: str) -> None:
    r = Api(db).client.post("/api/v1/auth/register", json={"email": address,
                                                           "password": "travel-far-away"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(users.select()).first() is None


def test_plain_addresses_still_register(db: Database) -> None:
    r = Api(db).client.post("/api/v1/auth/register", json={
        "email": "First.Last+trip@Example.com", "password": "travel-far-away"})
    assert r.status_code == 201 and r.json()["email"] == "first.last+trip@example.com"


def test_the_portal_refuses_two_recipients_in_both_languages(db: Database) -> None:
    form = {"email": "a,evil@x.co", "password": PASSWORD, "password_confirm": PASSWORD}
    en = Browser(db).submit("/register", "/register", form)
    assert en.status_code == 422 and 'id="e-email"' in en.text
    zh = Browser(db, lang="zh-CN").submit("/register", "/register", form)
    assert zh.status_code == 422 and 'id="e-email"' in zh.text


def test_the_smtp_sender_never_sends_to_more_than_one_mailbox() -> None:
    def no_server(*_: object, **__: object) -> None:
        raise AssertionError("no connection may be opened for a bad recipient")

    sender = SmtpSender(SmtpConfig(host="127.0.0.1"), connect=no_server)
    mail = Email(outbox_id=1, to="a@x.co, evil@y.co", subject="s", text="t", html="<p>t</p>",
                 language="en", message_id="<1@topup>")
    with pytest.raises(PermanentFailure):
        sender.send(mail, lambda *_: None)
