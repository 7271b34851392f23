"""What the browser tests share besides fixtures: the running server (``Live``), the guarded
Playwright import, pages that stay on loopback and record script errors, and screenshots."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from stdnum import luhn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route, ViewportSize

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by require_chromium(): skipped locally, failed on CI
    expect = sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
TOPUP = str(Path(sys.executable).parent / "topup")
CHROMIUM = os.environ.get("TOPUP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LOOPBACK = {"127.0.0.1", "localhost"}
TIMEOUT_MS = 10_000  # one action or navigation; the server answers locally in milliseconds

ADMIN = ("admin@example.com", "demo-admin-pass")
NETWORK = ("network@example.com", "demo-network-pass")
TRAVELLER = ("traveller@example.com", "demo-traveller-pass")

__all__ = ["expect", "sync_playwright"]


def require_chromium() -> None:
    """Skip (fail on CI) when the browser or Playwright is missing."""
    missing = None
    if sync_playwright is None:
        missing = "Playwright is not installed (scripts/install test)"
    elif not os.access(CHROMIUM, os.X_OK):
        missing = f"{CHROMIUM} is missing (apt-get install chromium, or run scripts/test)"
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI needs the browser tests: {missing}")
    if missing:
        pytest.skip(missing)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def new_iccid() -> str:
    """A random valid ICCID (89 prefix, Luhn check digit) no other test will have made."""
    base = "8949" + digits(14)
    return base + luhn.calc_check_digit(base)


@dataclass
class Live:
    """The running server: its address, its data folder and the environment it runs with."""

    url: str
    data_dir: Path
    env: dict[str, str] = field(repr=False)
    log: Path = field(repr=False)
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def cli(self, *args: str) -> str:
        """Run ``topup ARGS`` against the same data folder; its stdout."""
        done = subprocess.run([TOPUP, *args], env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, f"topup {' '.join(args)}: {done.stderr}"
        return done.stdout

    def api(self, login: tuple[str, str]) -> httpx.Client:
        """An HTTP client signed in to the REST API as ``login`` (bearer token)."""
        if login[0] not in self._tokens:
            r = httpx.post(f"{self.url}/api/v1/auth/token", timeout=10,
                           data={"username": login[0], "password": login[1]})
            assert r.status_code == 200, r.text
            self._tokens[login[0]] = r.json()["access_token"]
        return httpx.Client(base_url=self.url, timeout=10,
                            headers={"Authorization": f"Bearer {self._tokens[login[0]]}"})

    def new_line(self, currency: str = "CNY", country: str = "CN", secret: str = "58204716"
                 ) -> dict[str, Any]:
        """A fresh provisioned line made through the admin API, with its card secret."""
        with self.api(ADMIN) as admin:
            r = admin.post("/api/v1/admin/lines", json={
                "iccid": new_iccid(), "secret": secret, "currency": currency,
                "msisdn": "+8613" + digits(9), "home_country": country})
        assert r.status_code == 201, r.text
        return dict(r.json()) | {"secret": secret}

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def start(self, port: int) -> None:
        """``topup serve`` in the background; returns once /healthz answers."""
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [TOPUP, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"topup serve exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"topup serve did not answer within 30 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def smtp_settings(port: int, sender: str) -> dict[str, str]:
    """The settings of a server that e-mails over SMTP to a peer on loopback ``port``, from
    ``sender``: for ``own_server``."""
    return {"TOPUP_EMAIL_BACKEND": "smtp", "TOPUP_SMTP_HOST": "127.0.0.1",
            "TOPUP_SMTP_PORT": str(port), "TOPUP_SMTP_FROM": sender}


@contextmanager
def own_server(folder: Path, **env: str) -> Iterator[Live]:
    """``topup demo`` + ``topup serve`` of a module's own, in ``folder``, with ``env`` on top
    of ``server_env`` (an SMTP server, a provider's stand-in); stopped on leaving."""
    require_chromium()
    port = free_port()
    live = Live(f"http://127.0.0.1:{port}", folder / "var",
                server_env(folder / "var", port) | env, folder / "server.log")
    live.cli("demo")
    try:
        live.start(port)
        yield live
    finally:
        live.stop()


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """The server's environment: SQLite in ``data_dir``, the sandbox provider, no worker."""
    # None of the developer's own TOPUP_* settings leak in (an SMTP backend, PostgreSQL), but
    # the cheap argon2 costs that tests/conftest.py sets for speed do.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOPUP_") or k.startswith("TOPUP_ARGON2_")}
    return env | {"TOPUP_DATA_DIR": str(data_dir), "TOPUP_EMBEDDED_WORKER": "0",
                  "TOPUP_PAYMENT_PROVIDERS": "sandbox",
                  "TOPUP_PUBLIC_URL": f"http://127.0.0.1:{port}"}


@dataclass
class Watched:
    """What went wrong in a page beyond the test's own assertions: scripts that threw, and
    requests for anything off this machine (refused: tests never leave loopback)."""

    js_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def only_loopback(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort("blockedbyclient")


def open_page(browser: Browser, live: Live, watched: Watched, **extra: Any) -> Page:
    """A page in a new context (English, UTC, desktop size unless ``extra`` says otherwise)
    whose script errors and off-machine requests are recorded in ``watched``."""
    options: dict[str, Any] = {"base_url": live.url, "viewport": DESKTOP, "locale": "en-US",
                               "timezone_id": "UTC"} | extra
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.route("**/*", watched.only_loopback)
    page = context.new_page()
    page.on("pageerror", lambda exc: watched.js_errors.append(f"{page.url}: {exc}"))
    return page


@contextmanager
def checked_page(browser: Browser, live: Live, watched: Watched, **extra: Any
                 ) -> Iterator[Page]:
    """A fresh page on ``live`` (``extra`` as ``open_page`` takes it), closed afterwards; then
    no script may have thrown and nothing may have left this machine."""
    page = open_page(browser, live, watched, **extra)
    try:
        yield page
    finally:
        page.context.close()
    assert watched.js_errors == [], f"script errors: {watched.js_errors}"
    assert watched.external == [], watched.external


class Shooter:
    """Screenshots of the viewport at phone and desktop width, named ``<name>-phone.png`` and
    ``<name>-desktop.png``.

    They are always taken (a page that cannot be drawn fails the test), but they replace the
    ones in docs/screenshots only when ``TOPUP_SCREENSHOTS=1``; otherwise they go to the
    test's temporary folder, so an ordinary run (and CI) leaves the work tree clean. Refresh
    the README's pictures with ``TOPUP_SCREENSHOTS=1 scripts/test tests/browser``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Page, name: str) -> None:
        before = page.viewport_size or DESKTOP
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            path = self.folder / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=False, animations="disabled",
                            caret="hide")
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
            self.taken.append(path)
        page.set_viewport_size(before)


def sign_in(page: Page, login: tuple[str, str]) -> None:
    """Log in through the form (in whatever language the page is) and wait for the menu's
    "Log out"."""
    page.goto("/login")
    form = page.locator("#login-form")
    form.locator('input[name="login"]').fill(login[0])
    form.locator('input[name="password"]').fill(login[1])
    form.locator('button[type="submit"]').click()
    expect(page.locator("#logout")).to_be_visible()
