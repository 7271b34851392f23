"""Guessing passwords, reset codes and card secrets: the throttles hold across login spellings,
addresses and throw-away accounts, the owner still gets in once the back-off has passed, and
floods send a bounded number of messages (issue 11, holes 2, 3, 4 and registration probing)."""

from __future__ import annotations

import threading
import uuid

import pytest
from httpx import Response

from tests.client_support import Client
from tests.factories import Api, make_line, make_user
from topup.channels.api.app import create_app
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.errors import InvalidInput
from topup.notifications.service import queued_for
from topup.subscribers import auth, throttle
from topup.subscribers import lines as line_svc
from topup.subscribers.tables import users

PASSWORD = "long-enough-pw"
PHONE = "+8613800138001"
SPELLINGS = ("+86 138 0013 8001", "(+86)13800138001", "＋８６ １３８ ００１３ ８００１")


class Net:
    """One app reached from many client addresses."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.app = create_app(db)
        self.clients: dict[str, Client] = {}

    def at(self, ip: str) -> Client:
        if ip not in self.clients:
            self.clients[ip] = Client(self.app, client=(ip, 40000),
                                      raise_server_exceptions=False)
        return self.clients[ip]

    def login(self, ip: str, login: str, password: str) -> Response:
        return self.at(ip).post("/api/v1/auth/token",
                                data={"username": login, "password": password})

    def register(self, ip: str, **body: str) -> Response:
        return self.at(ip).post("/api/v1/auth/register", json={"password": PASSWORD, **body})


def addr(n: int) -> str:
    return f"198.51.{n // 250}.{n % 250 + 1}"


def owner(db: Database) -> int:
    with db.unit() as uow:
        return auth.register(uow, email="owner@example.com", phone=PHONE,
                             password=PASSWORD).id


def failures(db: Database, name: str) -> int:
    with db.unit(readonly=True) as uow:
        return throttle.count_of(uow, name)


def test_every_spelling_of_a_login_counts_against_one_account(db: Database) -> None:
    net, uid = Net(db), owner(db)
    for n in range(db.settings.login_max_failures):
        r = net.login("203.0.113.5", SPELLINGS[n % len(SPELLINGS)], "wrong-password")
        assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    assert failures(db, f"login:account:user:{uid}") == db.settings.login_max_failures
    assert failures(db, "login:account:login:+8613800138001") == 0
    r = net.login("203.0.113.5", "owner@example.com", PASSWORD)
    assert r.status_code == 429 and r.json()["code"] == "account_locked"
    assert int(r.headers["Retry-After"]) == db.settings.login_backoff_seconds + 1


def test_the_owner_gets_in_and_the_attacker_is_slowed(db: Database, clock: FrozenClock) -> None:
    net, uid = Net(db), owner(db)
    s = db.settings
    for _ in range(s.login_max_failures):
        assert net.login("203.0.113.5", PHONE, "wrong-password").status_code == 401
    assert net.login("203.0.113.5", PHONE, PASSWORD).status_code == 429
    assert net.login("192.0.2.44", PHONE, PASSWORD).status_code == 200, \
        "one address guessing does not keep the owner out"
    guesses = [net.login(addr(n), SPELLINGS[n % 3], "wrong-password").status_code
               for n in range(s.login_account_max_failures * 3)]
    assert guesses.count(401) == s.login_account_max_failures - s.login_max_failures
    assert set(guesses[guesses.index(429):]) == {429}, "many addresses share the account budget"
    assert failures(db, f"login:account:user:{uid}") == s.login_account_max_failures
    assert net.login("192.0.2.44", PHONE, PASSWORD).status_code == 200, \
        "from an address where the owner signed in before, the account-wide wait does not apply"
    refused = net.login("192.0.2.55", PHONE, PASSWORD)
    assert refused.status_code == 429, "a new address waits with the account"
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert net.login("192.0.2.55", PHONE, PASSWORD).status_code == 200, \
        "after the back-off the right password gets in"
    assert net.login(addr(900), PHONE, "wrong-password").status_code == 401
    slower = net.login(addr(901), PHONE, "wrong-password")
    assert slower.status_code == 429
    assert int(slower.headers["Retry-After"]) == 2 * s.login_backoff_seconds + 1, \
        "each further failure doubles the wait"
    assert net.login("192.0.2.66", "owner@example.com", PASSWORD).status_code == 429
    assert net.login("192.0.2.55", "owner@example.com", PASSWORD).status_code == 200


def test_one_user_behind_a_nat_does_not_lock_out_the_others(db: Database) -> None:
    net = Net(db)
    owner(db)
    other = make_user(db, email="neighbour@example.com", password=PASSWORD)
    for _ in range(db.settings.login_max_failures * 2):
        net.login("100.64.0.1", PHONE, "wrong-password")
    assert net.login("100.64.0.1", str(other.email), PASSWORD).status_code == 200


def test_reset_codes_are_limited_per_account_across_codes_and_addresses(
        db: Database, clock: FrozenClock) -> None:
    net, s = Net(db), db.settings
    owner(db)
    answers = []
    for n in range(60):  # ask for a fresh code, then guess it, from a new address each time
        assert net.at(addr(n)).post("/api/v1/auth/password-reset",
                                    json={"login": PHONE}).status_code == 202
        answers.append(net.at(addr(n)).post("/api/v1/auth/password-reset/confirm", json={
            "login": SPELLINGS[n % 3], "code": f"{n:08d}", "new_password": "taken-over-pw"}))
    wrong = [r for r in answers if r.status_code == 422]
    assert {r.json()["code"] for r in wrong} == {"reset_code_invalid"}
    assert len(wrong) == s.reset_max_failures, "wrong codes count per account, not per code"
    assert {r.status_code for r in answers[len(wrong):]} == {429}
    with db.unit(readonly=True) as uow:
        sent = queued_for(uow, PHONE)
    assert len(sent) == s.reset_requests_per_account
    assert all(len(m["params"]["code"]) == 8 for m in sent)
    clock.advance(seconds=s.reset_request_window_seconds)
    net.at("192.0.2.44").post("/api/v1/auth/password-reset", json={"login": PHONE})
    with db.unit(readonly=True) as uow:
        code = queued_for(uow, PHONE)[-1]["params"]["code"]
    r = net.at("192.0.2.44").post("/api/v1/auth/password-reset/confirm", json={
        "login": PHONE, "code": code, "new_password": "owners-new-pw"})
    assert r.status_code == 204, "the owner resets once the back-off has passed"
    assert net.login("192.0.2.44", PHONE, "owners-new-pw").status_code == 200


def test_reset_request_floods_send_a_bounded_number_of_messages(db: Database) -> None:
    net, s = Net(db), db.settings
    owner(db)
    for n in range(100):
        r = net.at("203.0.113.9" if n < 50 else addr(n)).post(
            "/api/v1/auth/password-reset", json={"login": SPELLINGS[n % 3]})
        assert r.status_code == 202
    with db.unit(readonly=True) as uow:
        assert len(queued_for(uow, PHONE)) == s.reset_requests_per_account
    victims = [make_user(db, email=f"v{n}@example.com") for n in range(s.reset_requests_per_ip * 2)]
    for victim in victims:
        assert net.at("203.0.113.10").post("/api/v1/auth/password-reset",
                                           json={"login": victim.email}).status_code == 202
    with db.unit(readonly=True) as uow:
        sent = sum(len(queued_for(uow, str(v.email))) for v in victims)
    assert sent == s.reset_requests_per_ip, "one address sends at most its budget"


def test_a_line_is_guessed_at_most_its_budget_across_throwaway_accounts(
        db: Database, clock: FrozenClock) -> None:
    api, s = Api(db), db.settings
    net = Net(db)
    line = make_line(db, secret="2718")  # a weak secret of an old line still binds
    answers = []
    for n in range(20):
        user = make_user(db, email=f"throwaway{n}@example.com")
        headers = api.login(str(user.email))
        answers.append(net.at(addr(n)).post("/api/v1/lines/bind", headers=headers, json={
            "identifier": line.iccid, "secret": f"{1000 + n}"}))
    codes = [r.status_code for r in answers]
    assert codes == [409] * s.bind_line_max_failures + [429] * (20 - s.bind_line_max_failures)
    assert {r.json()["code"] for r in answers[:5]} == {"bind_failed"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in answers[5:])
    _, headers = api.as_new()
    r = net.at("192.0.2.44").post("/api/v1/lines/bind", headers=headers,
                                  json={"identifier": line.iccid, "secret": "2718"})
    assert r.status_code == 429, "the right secret waits too: a wait teaches nothing"
    clock.advance(seconds=int(r.headers["Retry-After"]))
    r = net.at("192.0.2.44").post("/api/v1/lines/bind", headers=headers,
                                  json={"identifier": line.iccid, "secret": "2718"})
    assert r.status_code == 200 and r.json()["id"] == line.id


def test_an_unknown_line_is_throttled_like_a_real_one(db: Database) -> None:
    api, net = Api(db), Net(db)
    answers = []
    for n in range(db.settings.bind_line_max_failures + 1):
        _, headers = api.as_new()
        answers.append(net.at(addr(n)).post("/api/v1/lines/bind", headers=headers, json={
            "identifier": "+8613800000000", "secret": "1234"}).status_code)
    assert answers == [409] * db.settings.bind_line_max_failures + [429]


def test_registration_is_limited_per_address_and_says_one_thing_for_taken_logins(
        db: Database) -> None:
    net, s = Net(db), db.settings
    owner(db)
    taken_mail = net.register("203.0.113.7", email="OWNER@example.com")
    taken_phone = net.register("203.0.113.7", phone=SPELLINGS[1])
    assert taken_mail.status_code == taken_phone.status_code == 409
    assert taken_mail.json() == taken_phone.json()
    assert taken_mail.json()["code"] == "login_taken"
    for n in range(s.register_per_ip - 2):
        assert net.register("203.0.113.7", email=f"new{n}@example.com").status_code == 201
    r = net.register("203.0.113.7", email="one-more@example.com")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= s.register_window_seconds + 1
    assert net.register("203.0.113.7", email="OWNER@example.com").status_code == 429, \
        "probing for taken logins is throttled too"
    assert net.register("192.0.2.8", email="one-more@example.com").status_code == 201
    with db.unit(readonly=True) as uow:
        made = len(uow.conn.execute(users.select()).all())
    assert made == 1 + (s.register_per_ip - 2) + 1, "the owner, the budget, the other address"


def test_the_admin_api_refuses_weak_card_secrets(db: Database) -> None:
    api = Api(db)
    _, staff = api.as_new("admin")
    from tests.factories import iccid

    for weak in ("1234", "2718281", "11111111", "12345678", "87654321", "abcdefgh",
                 "12121212", "abcabcabc"):
        r = api.client.post("/api/v1/admin/lines", headers=staff,
                            json={"iccid": iccid(), "secret": weak, "currency": "CNY"})
        assert r.status_code == 422 and r.json()["code"] == "weak_card_secret", weak
    r = api.client.post("/api/v1/admin/lines", headers=staff,
                        json={"iccid": iccid(), "secret": "K7q-29xv", "currency": "CNY"})
    assert r.status_code == 201


def test_the_csv_import_refuses_weak_card_secrets(db: Database) -> None:
    from tests.factories import iccid

    rows = [{"iccid": iccid(), "secret": "K7q-29xv", "currency": "CNY"},
            {"iccid": iccid(), "secret": "1234", "currency": "CNY"}]
    with pytest.raises(InvalidInput, match="row 3: a card secret has at least 8"), \
            db.unit() as uow:
        list(line_svc.import_lines(uow, rows))


def test_concurrent_wrong_passwords_are_all_counted(db: Database) -> None:
    uid, n = owner(db), 20
    gate = threading.Barrier(n)
    errors: list[BaseException] = []

    def guess(i: int) -> None:
        try:
            gate.wait(timeout=30)
            with db.unit() as uow:
                assert auth.authenticate(uow, PHONE, f"wrong-{uuid.uuid4()}", f"10.0.0.{i}") \
                    is None
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert failures(db, f"login:account:user:{uid}") == n


def test_ended_counters_are_purged_and_waiting_ones_kept(db: Database, clock: FrozenClock
                                                          ) -> None:
    s = db.settings
    with db.unit() as uow:
        throttle.hit(uow, "test:old", throttle.Rule(1, 60))
        throttle.hit(uow, "test:waiting", throttle.Rule(1, 60, base=10 ** 6, cap=10 ** 6))
    clock.advance(seconds=max(s.login_window_seconds, s.voucher_window_seconds) + 1)
    with db.unit() as uow:
        throttle.hit(uow, "test:fresh", throttle.Rule(1, 60))
        assert throttle.purge(uow, 500) == 1
    with db.unit(readonly=True) as uow:
        assert [throttle.count_of(uow, k) for k in ("test:old", "test:waiting", "test:fresh")] \
            == [0, 1, 1]
