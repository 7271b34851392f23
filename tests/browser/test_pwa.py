"""The portal as an installable app, checked in chromium the way Lighthouse's installability
audit does: the manifest as Chrome parses it (``Page.getAppManifest``: no errors) and Chrome's
own verdict (``Page.getInstallabilityErrors``: none), the service worker activated and
controlling the page; then the server is really stopped (its process ended, its port closed)
and a page is asked for: the offline page shows, in English or in Chinese.

These tests run their own server (demo data in a folder of this module), started for each
test and stopped in the middle of it, so the shared ``live`` server of the other browser
tests keeps running. Chrome reports every page of an incognito profile as not installable
("in-incognito"), and a Playwright context is one, so the pages here live in a persistent
profile of their own (``launch_persistent_context``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser import support
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    TIMEOUT_MS,
    TRAVELLER,
    Live,
    Watched,
    expect,
    free_port,
    require_chromium,
    server_env,
    sign_in,
)
from topup.channels.portal.pwa import OFFLINE, SHELL

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright

OPERATOR = "Roam Mobile"
HOTLINE = "+86 400 820 8820"
THEME = "#00695c"
LANGUAGE_KEY = "/offline/language"  # where sw.js keeps the last page's language


@dataclass
class Site:
    """The module's data folder (demo data) and the environment its server runs with."""

    folder: Path
    data_dir: Path
    env: dict[str, str]

    def start(self) -> Live:
        """``topup serve`` on a new port over the same data."""
        port = free_port()
        env = self.env | {"TOPUP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        live = Live(f"http://127.0.0.1:{port}", self.data_dir, env,
                    self.folder / f"server-{port}.log")
        live.start(port)
        return live


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    require_chromium()
    folder = tmp_path_factory.mktemp("pwa")
    env = server_env(folder / "var", 0) | {
        "TOPUP_OPERATOR_NAME": OPERATOR, "TOPUP_HOTLINE_NUMBER": HOTLINE,
        "TOPUP_THEME_COLOR": THEME}
    found = Site(folder, folder / "var", env)
    Live("", found.data_dir, env, folder / "demo.log").cli("demo")
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for this module (started and stopped here, as conftest's ``browser``)."""
    require_chromium()
    with support.sync_playwright() as pw:
        yield pw


@pytest.fixture
def server(site: Site) -> Iterator[Live]:
    """This test's server; the test stops it, or this does at the end."""
    live = site.start()
    try:
        yield live
    finally:
        live.stop()


def open_profile(pw: Playwright, folder: Path, live: Live, watched: Watched,
                 locale: str) -> tuple[BrowserContext, Page]:
    """A persistent (not incognito) chromium profile speaking ``locale``, on loopback only,
    whose script errors go to ``watched``."""
    context = pw.chromium.launch_persistent_context(
        str(folder), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        base_url=live.url, viewport=DESKTOP, locale=locale, timezone_id="UTC",
        timeout=30_000)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.route("**/*", watched.only_loopback)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("pageerror", lambda exc: watched.js_errors.append(f"{page.url}: {exc}"))
    return context, page


@pytest.fixture
def profile(playwright: Playwright, server: Live, tmp_path: Path, request: pytest.FixtureRequest
            ) -> Iterator[Page]:
    """A page in a fresh persistent profile (``@pytest.mark.parametrize("locale", …)`` or
    English); no script on it may throw."""
    locale = getattr(request, "param", "en-US")
    watched = Watched()
    context, page = open_profile(playwright, tmp_path / "profile", server, watched, locale)
    try:
        yield page
    finally:
        context.close()
    assert watched.js_errors == [], f"script errors: {watched.js_errors}"
    assert watched.external == [], f"requests off this machine: {watched.external}"


def controlled(page: Page) -> dict[str, Any]:
    """Wait until the service worker is activated and controls the page; its registration."""
    found: dict[str, Any] = page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        return {scope: registration.scope, state: registration.active.state,
                script: registration.active.scriptURL};
    }""")
    # wait_for_function polls a predicate by eval, which the portal's CSP refuses: wait for
    # the worker to take control through its own event instead (at most 10 s)
    controlled = page.evaluate("""() => navigator.serviceWorker.controller !== null || new Promise(
        (resolve) => {
            navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true),
                                                     {once: true});
            setTimeout(() => resolve(navigator.serviceWorker.controller !== null), 10000);
        })""")
    if not controlled:
        # clients.claim() took no hold of this page (a loaded machine can be slow to let the
        # new worker claim it): a page loaded while the worker is active is its from the start
        page.reload()
        controlled = page.evaluate("() => navigator.serviceWorker.controller !== null")
    assert controlled, "the service worker never took control of the page"
    return found


def cached_urls(page: Page) -> dict[str, list[str]]:
    """Every cache of the origin and the addresses it holds."""
    found: dict[str, list[str]] = page.evaluate("""async () => {
        const out = {};
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname
                                                        + new URL(r.url).search);
        }
        return out;
    }""")
    return found


def wait_for_language(page: Page, lang: str) -> None:
    """Wait until the worker has kept ``lang`` (portal.js posts each page's language)."""
    assert page.evaluate("""async ([key, lang]) => {
        for (let i = 0; i < 100; i++) {
            const hit = await caches.match(key);
            if (hit && (await hit.text()) === lang) { return true; }
            await new Promise((done) => setTimeout(done, 50));
        }
        return false;
    }""", [LANGUAGE_KEY, lang]), f"the worker never kept the language {lang}"


def stop(server: Live) -> None:
    """End the server's process and make sure nothing answers on its port any more."""
    server.stop()
    assert server.proc is not None and server.proc.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=2)


def assert_offline_page(page: Page, url: str, lang: str, heading: str, texts: tuple[str, ...]
                        ) -> None:
    """``url`` opened with the server down: the worker's offline page, in ``lang``."""
    response = page.goto(url)
    assert response is not None and response.from_service_worker
    assert response.status == 200
    assert page.url.endswith(url), "the address stays the one asked for (Try again reloads it)"
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    body = page.locator("#offline")
    for text in (OPERATOR, HOTLINE, *texts):
        expect(body).to_contain_text(text)
    expect(page.locator(f'#offline-hotline a[href="tel:{HOTLINE.replace(" ", "")}"]'))\
        .to_be_visible()


def test_installable_and_offline_page_when_the_server_is_down(profile: Page, server: Live
                                                              ) -> None:
    started = time.monotonic()
    page = profile
    sign_in(page, TRAVELLER)
    page.goto("/")
    expect(page.locator(".balance").first).to_be_visible()  # the traveller's own balance
    balance = page.locator(".balance").first.inner_text()

    cdp = page.context.new_cdp_session(page)
    found = cdp.send("Page.getAppManifest")
    assert found["errors"] == [], found["errors"]
    assert found["url"] == f"{server.url}/manifest.webmanifest?lang=en"
    manifest = json.loads(found["data"])
    assert manifest["name"] == manifest["short_name"] == OPERATOR
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/",
                                                                               "standalone")
    assert manifest["theme_color"] == THEME and manifest["lang"] == "en"
    assert page.locator('meta[name="theme-color"]').get_attribute("content") == THEME
    for icon in manifest["icons"]:  # each one loads, at the size it claims
        size = page.evaluate("""(src) => new Promise((done, fail) => {
            const img = new Image(); img.onload = () => done([img.naturalWidth,
            img.naturalHeight]); img.onerror = fail; img.src = src; })""", icon["src"])
        assert f"{size[0]}x{size[1]}" == icon["sizes"], icon
    apple = page.locator('link[rel="apple-touch-icon"]').get_attribute("href")
    assert apple and httpx.get(server.url + apple, timeout=5).status_code == 200

    registration = controlled(page)
    assert registration == {"scope": f"{server.url}/", "state": "activated",
                            "script": f"{server.url}/sw.js"}
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    wait_for_language(page, "en")
    [(name, urls)] = cached_urls(page).items()
    assert name.startswith("topup-")
    # The static shell and the offline pages, and no page: not the home page with the balance.
    assert set(urls) == {*SHELL, *OFFLINE.values(), LANGUAGE_KEY}

    stop(server)
    assert_offline_page(page, "/", "en", "You are offline", (
        "Your top-ups are safe", "Try again"))
    assert page.locator(".balance").count() == 0 and balance not in page.content()
    assert_offline_page(page, "/plans?country=TH", "en", "You are offline", ())
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", "")
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("profile", ["zh-CN"], indirect=True)
def test_offline_page_in_chinese_for_a_chinese_phone(profile: Page, server: Live) -> None:
    page = profile
    page.goto("/plans")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    cdp = page.context.new_cdp_session(page)
    found = cdp.send("Page.getAppManifest")
    assert found["errors"] == [] and json.loads(found["data"])["lang"] == "zh-CN"
    controlled(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    stop(server)
    assert_offline_page(page, "/plans", "zh-CN", "您已离线", ("您的充值是安全的", "重试"))


def test_offline_page_in_the_language_the_traveller_chose(profile: Page, server: Live) -> None:
    """An English phone, but the visitor switched the portal to Chinese: the worker was told
    the page's language, so the offline page is Chinese too."""
    page = profile
    page.goto("/plans")
    assert page.evaluate("navigator.language") == "en-US"
    controlled(page)
    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    wait_for_language(page, "zh-CN")
    stop(server)
    assert_offline_page(page, "/", "zh-CN", "您已离线", ("您的充值是安全的",))
