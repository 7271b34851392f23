"""Portal accounts: register, log in and out, lockout, forgotten passwords; the session cookie's
flags, what the database keeps of it, idle and absolute expiry; CSRF on every form."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.factories import make_user
from tests.integration.portal.conftest import PASSWORD, Browser, Shop, csrf_of
from topup.channels.api.app import create_app
from topup.channels.portal.tables import web_sessions
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications.tables import outbox


def test_home_sends_visitors_to_a_labelled_login_form(db: Database) -> None:
    page = Browser(db).get("/")
    assert page.url.path == "/login" and page.status_code == 200
    for name, label in (("login", "E-mail or phone number"), ("password", "Password")):
        assert f'<label for="f-{name}">{label}</label>' in page.text
        assert f'id="f-{name}" name="{name}"' in page.text
    assert 'name="csrf_token"' in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_registration_errors_in_english_and_chinese(db: Database) -> None:
    make_user(db, email="taken@example.com")
    bad = {"email": "", "phone": "", "password": "short", "password_confirm": "other"}
    en = Browser(db).submit("/register", "/register", bad)
    assert en.status_code == 422
    assert "Give an e-mail address or a phone number." in en.text
    assert "A password has at least 8 characters." in en.text
    assert "The two passwords do not match." in en.text
    assert 'aria-invalid="true"' in en.text and 'role="alert"' in en.text
    zh = Browser(db, lang="zh-CN,zh;q=0.9").submit("/register", "/register", bad)
    assert zh.status_code == 422 and '<html lang="zh-CN">' in zh.text
    assert "请填写邮箱或手机号码。" in zh.text and "两次输入的密码不一致。" in zh.text
    taken = {"email": "taken@example.com", "password": PASSWORD, "password_confirm": PASSWORD}
    again = Browser(db).submit("/register", "/register", taken)
    assert again.status_code == 422
    assert "This e-mail address or phone number is already registered" in again.text
    zh_again = Browser(db, lang="zh-CN").submit("/register", "/register", taken)
    assert "该邮箱或手机号已注册" in zh_again.text
    phone = Browser(db).submit("/register", "/register", {
        "phone": "12", "password": PASSWORD, "password_confirm": PASSWORD})
    assert phone.status_code == 422 and 'id="e-phone"' in phone.text


def test_registering_signs_in_with_a_safe_cookie_and_stores_only_its_hash(db: Database) -> None:
    browser = Browser(db, lang="zh-CN")
    browser.register("new@example.com")
    token = browser.client.cookies["topup_session"]
    with db.unit() as uow:
        rows = uow.conn.execute(select(web_sessions)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    other = Browser(db)
    r = other.submit("/login", "/login", {"login": "new@example.com", "password": PASSWORD},
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "topup_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https below
    me = Browser(db).get("/settings", follow_redirects=False)
    assert me.status_code == 303 and me.headers["location"].startswith("/login?next=/settings")
    assert other.get("/settings").url.path == "/settings"
    assert 'selected>简体中文' in other.get("/settings").text  # registered in Chinese


def test_cookies_are_secure_when_the_portal_is_served_over_https(db: Database) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    make_user(db, email="s@example.com")
    secure_db = Database(db.engine, replace(db.settings, public_url="https://shop.example"),
                         db.clock)
    client = TestClient(create_app(secure_db), base_url="https://testserver")
    page = client.get("/login")
    r = client.post("/login", data={"csrf_token": csrf_of(page.text), "login": "s@example.com",
                                    "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))


def test_wrong_passwords_then_lockout(db: Database) -> None:
    make_user(db, email="lock@example.com")
    browser = Browser(db)
    for _ in range(db.settings.login_max_failures):
        r = browser.login("lock@example.com", "wrong-password")
        assert r.status_code == 422 and "Wrong login or password." in r.text
    locked = browser.login("lock@example.com", PASSWORD)
    assert locked.status_code == 422 and "Too many attempts. Please try again in" in locked.text
    zh = Browser(db, lang="zh-CN").login("lock@example.com", PASSWORD)
    assert "尝试次数过多" in zh.text
    empty = browser.submit("/login", "/login", {"login": "", "password": ""})
    assert 'id="e-login"' in empty.text and 'id="e-password"' in empty.text


def test_logout_ends_the_session_for_good(shop: Shop) -> None:
    b = shop.browser
    token = b.client.cookies["topup_session"]
    r = b.submit("/", "/logout", {})
    assert r.url.path == "/login" and "You have logged out." in r.text
    stolen = Browser(shop.db)
    stolen.client.cookies.set("topup_session", token)
    assert stolen.get(f"/lines/{shop.line.id}").url.path == "/login"
    bearer = stolen.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401


def test_idle_sessions_expire_and_active_ones_end_at_their_lifetime(
        shop: Shop, clock: FrozenClock) -> None:
    b, idle = shop.browser, shop.db.settings.web_session_idle_seconds
    clock.advance(seconds=idle - 120)
    assert b.get("/").url.path == "/"  # still alive, and this visit counts as activity
    clock.advance(seconds=idle - 120)
    assert b.get("/").url.path == "/"
    clock.advance(seconds=idle + 1)
    gone = b.get(f"/lines/{shop.line.id}", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == f"/login?next=/lines/{shop.line.id}&expired=1"
    assert "Your session has expired" in b.get(gone.headers["location"]).text
    b.login(shop.email)
    lifetime = shop.db.settings.web_session_max_seconds
    for _ in range(lifetime // (idle // 2) + 1):
        clock.advance(seconds=idle // 2)
        last = b.get("/", follow_redirects=False)
        if last.status_code == 303:
            break
    assert last.status_code == 303 and last.headers["location"] == "/login"


def test_forms_without_this_browsers_token_are_refused(shop: Shop) -> None:
    b, path = shop.browser, f"/lines/{shop.line.id}/auto-renew"
    none = b.client.post(path, data={"auto_renew": "on"})
    assert none.status_code == 403 and "This form has expired" in none.text
    other = Browser(shop.db)
    foreign = csrf_of(other.get("/login").text)
    assert b.client.post(path, data={"csrf_token": foreign, "auto_renew": "on"}
                         ).status_code == 403
    mine = csrf_of(b.get(f"/lines/{shop.line.id}").text)
    evil = b.client.post(path, data={"csrf_token": mine, "auto_renew": "on"},
                         headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    ok = b.client.post(path, data={"csrf_token": mine, "auto_renew": "on"},
                       headers={"Origin": "http://testserver"})
    assert ok.status_code == 200 and "Auto-renew is on." in ok.text
    login = Browser(shop.db).client.post("/login", data={"login": shop.email,
                                                         "password": PASSWORD})
    assert login.status_code == 403  # a login form posted from elsewhere


def test_forgotten_password_by_code(shop: Shop) -> None:
    anon = Browser(shop.db)
    sent = anon.submit("/password/forgot", "/password/forgot", {"login": shop.email})
    assert sent.url.path == "/password/reset" and "8-digit code is on its way" in sent.text
    with shop.db.unit() as uow:
        code = uow.conn.execute(select(outbox.c.params).where(
            outbox.c.template == "password_reset")).scalar_one()["code"]
    wrong = anon.submit(f"/password/reset?login={shop.email}", "/password/reset", {
        "login": shop.email, "code": "00000000" if code != "00000000" else "11111111",
        "new_password": "brand-new-password"})
    assert wrong.status_code == 422 and "The code is wrong or has expired" in wrong.text
    short = anon.submit("/password/reset", "/password/reset", {
        "login": shop.email, "code": code, "new_password": "short"})
    assert "A password has at least 8 characters." in short.text
    done = anon.submit("/password/reset", "/password/reset", {
        "login": shop.email, "code": code, "new_password": "brand-new-password"})
    assert done.url.path == "/login" and "Your password was changed" in done.text
    assert shop.browser.get(f"/lines/{shop.line.id}").url.path == "/login"  # old session ended
    assert anon.login(shop.email, "brand-new-password").url.path == "/"


def test_portal_resets_and_registrations_are_throttled(shop: Shop) -> None:
    anon, s = Browser(shop.db), shop.db.settings
    for _ in range(s.reset_requests_per_account + 3):
        sent = anon.submit("/password/forgot", "/password/forgot", {"login": shop.email})
        assert sent.url.path == "/password/reset", "every request gets the same answer"
    with shop.db.unit() as uow:
        codes = uow.conn.execute(select(outbox.c.id).where(
            outbox.c.template == "password_reset")).all()
    assert len(codes) == s.reset_requests_per_account
    for n in range(s.reset_max_failures):
        wrong = anon.submit("/password/reset", "/password/reset", {
            "login": shop.email, "code": f"9{n:07d}", "new_password": "brand-new-password"})
        assert "The code is wrong or has expired" in wrong.text
    waits = anon.submit("/password/reset", "/password/reset", {
        "login": shop.email, "code": "12345678", "new_password": "brand-new-password"})
    assert waits.status_code == 422 and "Too many attempts. Please try again in" in waits.text
    taken = {"email": shop.email, "password": PASSWORD, "password_confirm": PASSWORD}
    for _ in range(s.register_per_ip):
        Browser(shop.db).submit("/register", "/register", taken)
    over = Browser(shop.db).submit("/register", "/register", {
        "email": "fresh@example.com", "password": PASSWORD, "password_confirm": PASSWORD})
    assert over.status_code == 422 and "Too many attempts. Please try again in" in over.text
