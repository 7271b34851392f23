"""Builders for test data: valid ICCIDs, lines, users, and an API client that logs in."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from stdnum import luhn

from tests.client_support import Client
from topup.channels.api.app import create_app
from topup.db.uow import Database, UnitOfWork
from topup.payments.interfaces import PaymentProvider
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

_serial = itertools.count(1)


def iccid(n: int | None = None) -> str:
    """A valid 19-digit ICCID (89 prefix, Luhn check digit)."""
    base = f"8986{n if n is not None else next(_serial):014d}"
    return base + luhn.calc_check_digit(base)


def make_line(db: Database, *, currency: str = "CNY", country: str = "CN", secret: str = "1234",
              kind: str = "sim", msisdn: str | None = None, **extra: Any) -> line_svc.Line:
    """A provisioned line."""
    with db.unit() as uow:
        return line_svc.create_line(uow, line_svc.LineSpec(
            iccid=extra.pop("iccid", None) or iccid(), secret=secret, currency=currency,
            home_country=country, kind=kind, msisdn=msisdn, **extra))


def fund(db: Database, line: line_svc.Line, amount: int, key: str | None = None) -> None:
    """Credit ``amount`` minor units to the line's wallet in its currency (a staff credit's
    transfer, without its order), under the idempotency id ``key``."""
    from topup.ledger import service as ledger
    from topup.ledger.accounts import MANUAL_CREDIT

    unit = ledger.money_unit(line.currency)
    with db.unit() as uow:
        ledger.transfer(uow, key or f"fund:{line.id}:{uuid.uuid4().hex}",
                        ledger.operator_account(uow, MANUAL_CREDIT, unit, line_id=line.id),
                        ledger.wallet(uow, line.id, line.currency), amount, code="topup")


def make_user(db: Database, role: str = "customer", email: str | None = None,
              password: str = "correct-horse-battery") -> auth.User:
    """A user with a known password."""
    with db.unit() as uow:
        return auth.register(uow, email=email or f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                             phone=None, password=password, role=role)


class Api:
    """A TestClient bound to one app, with login helpers."""

    def __init__(self, db: Database, providers: dict[str, PaymentProvider] | None = None
                 ) -> None:
        self.db = db
        self.client = Client(create_app(db, providers), raise_server_exceptions=False)

    def login(self, login: str, password: str = "correct-horse-battery") -> dict[str, str]:
        resp = self.client.post("/api/v1/auth/token",
                                data={"username": login, "password": password})
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def as_new(self, role: str = "customer") -> tuple[auth.User, dict[str, str]]:
        user = make_user(self.db, role)
        return user, self.login(str(user.email))

    def post(self, path: str, headers: dict[str, str], key: str | None = None,
             **kw: Any) -> Any:
        hdrs = dict(headers)
        if key:
            hdrs["Idempotency-Key"] = key
        return self.client.post(path, headers=hdrs, **kw)


@dataclass
class SandboxShop:
    """A traveller with a bound line, an admin, and an API that pays through the sandbox."""

    api: Api
    me: dict[str, str]
    staff: dict[str, str]
    line_id: int
    sandbox: Any

    def pay(self, order: dict[str, Any]) -> None:
        """Approve the order on the sandbox's page, as the payer would."""
        ref = str(order["next_action"]["value"]).rsplit("/", 1)[1]
        self.api.client.post(f"/sandbox/pay/{ref}/approve")


def sandbox_shop(db: Database, secret: str = "2718", **line: Any) -> SandboxShop:
    """Everything a payment test needs, on the sandbox provider."""
    from topup.payments.providers.sandbox import SandboxProvider

    sandbox = SandboxProvider(db, db.settings.secret_key, "http://testserver")
    api = Api(db, {"sandbox": sandbox})
    made = make_line(db, secret=secret, **line)
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": made.iccid, "secret": secret})
    staff = api.login(str(make_user(db, "admin").email))
    return SandboxShop(api, me, staff, made.id, sandbox)


WRITER_WAIT = 30  # seconds; a test that waits longer for the writer has hung


class _Gate:
    """A command that holds the writer's thread inside a batch of its own until opened."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    @property
    def kind(self) -> _Gate:
        return self

    def apply(self, uow: UnitOfWork, commands: Sequence[Any]) -> list[Any]:
        self.entered.set()
        assert self.opened.wait(WRITER_WAIT)
        return [None] * len(commands)


@contextmanager
def writer_held(db: Database) -> Iterator[None]:
    """The database's writer busy while the block runs: whatever is submitted meanwhile
    queues up, and forms one batch (up to ``writer_max_batch``) once the block ends."""
    gate = _Gate()
    first = db.writer.submit(gate)
    assert gate.entered.wait(WRITER_WAIT)
    try:
        yield
    finally:
        gate.opened.set()
        first.result(WRITER_WAIT)


@contextmanager
def writer_commits(db: Database) -> Iterator[list[str]]:
    """One entry per write transaction the database's writer commits while the block runs."""
    seen: list[str] = []

    def on_commit(conn: Any) -> None:
        readonly = conn.get_execution_options().get("topup_readonly")
        if threading.current_thread().name.startswith("topup-writer") and not readonly:
            seen.append("commit")

    event.listen(db.engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", on_commit)


def writer_queued(db: Database) -> int:
    """How many commands wait for the writer's next batch."""
    return len(db.writer._queue)
