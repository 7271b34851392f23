"""Issue 11, hole 7: a portal session and an API token each expire by their own rules, the
session cookie is Secure whenever the request came over https, and /metrics is not public."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from tests.factories import Api, make_user
from tests.integration.portal.conftest import Browser
from topup.channels.api.app import create_app
from topup.clock import FrozenClock
from topup.db.uow import Database


def test_a_portal_session_cookie_is_not_an_api_bearer_token(db: Database,
                                                             clock: FrozenClock) -> None:
    browser = Browser(db)
    browser.register("cookie@example.com")
    cookie = browser.client.cookies["topup_session"]
    assert browser.get("/").status_code == 200
    api = Api(db).client
    r = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    # Idle past the portal's limit: the session ends, and the token is no key anywhere else.
    clock.advance(seconds=db.settings.web_session_idle_seconds + 1)
    assert browser.get("/").url.path == "/login"
    r = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    assert r.status_code == 401


def test_an_api_token_is_not_a_portal_session(db: Database) -> None:
    user = make_user(db)
    api = Api(db)
    bearer = api.login(str(user.email))["Authorization"].split()[1]
    browser = Browser(db)
    browser.client.cookies.set("topup_session", bearer)
    assert browser.get("/").url.path == "/login"


def test_an_api_token_expires_after_its_own_lifetime(db: Database, clock: FrozenClock) -> None:
    user = make_user(db)
    api = Api(db)
    me = api.login(str(user.email))
    assert api.client.get("/api/v1/auth/me", headers=me).status_code == 200
    clock.advance(seconds=db.settings.token_ttl_seconds - 1)
    assert api.client.get("/api/v1/auth/me", headers=me).status_code == 200
    clock.advance(seconds=2)
    assert api.client.get("/api/v1/auth/me", headers=me).status_code == 401


def test_cookies_are_secure_when_the_request_came_over_https(db: Database) -> None:
    """The public URL says http (a misconfigured or default operator), but this request
    arrived over https (directly, or as a trusted proxy says): the cookies are Secure."""
    assert db.settings.public_url.startswith("http://")
    client = TestClient(create_app(db), base_url="https://testserver")
    make_user(db, email="tls@example.com", password="correct-horse-battery")
    page = client.get("/login")
    assert all("secure" in c.lower() for c in page.headers.get_list("set-cookie"))
    from tests.integration.portal.conftest import csrf_of

    r = client.post("/login", data={"csrf_token": csrf_of(page.text), "login": "tls@example.com",
                                    "password": "correct-horse-battery"},
                    follow_redirects=False)
    assert r.status_code == 303
    session = [c for c in r.headers.get_list("set-cookie") if c.startswith("topup_session=")]
    assert session and "secure" in session[0].lower() and "httponly" in session[0].lower()
    plain = TestClient(create_app(db)).get("/login")
    assert not any("secure" in c.lower() for c in plain.headers.get_list("set-cookie"))


def test_metrics_are_served_to_loopback_only_without_a_scrape_token(db: Database) -> None:
    app = create_app(db)
    remote = TestClient(app, client=("203.0.113.9", 50000)).get("/metrics")
    assert remote.status_code == 403
    assert remote.headers["content-type"].startswith("application/problem+json")
    local = TestClient(app, client=("127.0.0.1", 50000)).get("/metrics")
    assert local.status_code == 200 and "topup_http_requests_total" in local.text


def test_health_and_metrics_report_the_writer(db: Database) -> None:
    """Where commands are written, and the writer's batches as Prometheus series: here a
    writer thread (no writer process is configured), after one manual credit."""
    from tests.factories import Api, make_line, make_user

    api = Api(db)
    line = make_line(db)
    staff = api.login(str(make_user(db, "admin").email))
    assert api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="health",
                    json={"amount": 5_00, "currency": "CNY", "reason": "desk"}
                    ).status_code == 201
    health = TestClient(create_app(db)).get("/healthz").json()
    assert health == {"status": "ok", "database": db.engine.dialect.name, "writer": "thread"}
    text = TestClient(create_app(db), client=("127.0.0.1", 50000)).get("/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("topup_w"))
    assert float(lines["topup_writer_batches_total"]) >= 1
    assert float(lines["topup_writer_commands_total"]) >= 1
    assert lines['topup_writer_batch_size_bucket{le="+Inf"}'] == lines["topup_writer_batches_total"]
    assert "topup_writer_queued" in lines and "topup_writer_busy_seconds_total" in lines


def test_metrics_need_the_scrape_token_when_one_is_set(db: Database) -> None:
    tokened = Database(db.engine, replace(db.settings, metrics_token="scrape-me"), db.clock)
    app = create_app(tokened)
    local = TestClient(app, client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 401
    wrong = local.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    remote = TestClient(app, client=("203.0.113.9", 50000))
    ok = remote.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and "topup_http_requests_total" in ok.text
