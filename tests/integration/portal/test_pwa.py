"""The portal as an installable app, over HTTP: the manifest (its members, type and
language), the icons it names (real PNGs of the sizes it claims), the service worker (type,
root scope, its config, a version that follows what it caches) and the offline page (both
languages, the hotline, self-contained under its own CSP)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from dataclasses import replace
from typing import Any

import httpx
from PIL import Image

from tests.integration.portal.conftest import Browser
from topup.channels.portal.pwa import OFFLINE, SHELL
from topup.db.uow import Database

REQUIRED = {"name", "short_name", "start_url", "scope", "display", "icons", "theme_color",
            "background_color", "lang", "id"}
CONFIG = re.compile(r"^const CONFIG = (\{.*\});$", re.MULTILINE)


def branded(db: Database, **changes: Any) -> Browser:
    db.settings = replace(db.settings, **changes)
    return Browser(db)


def worker_config(r: httpx.Response) -> dict[str, object]:
    found = CONFIG.search(r.text)
    assert found, "sw.js has its CONFIG filled in"
    config: dict[str, object] = json.loads(found.group(1))
    return config


def test_the_manifest_has_what_chrome_needs_to_install(db: Database) -> None:
    b = branded(db, operator_name="Roam Mobile", theme_color="#00695c")
    r = b.get("/manifest.webmanifest?lang=en")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/manifest+json"
    assert r.headers["x-content-type-options"] == "nosniff"
    manifest = r.json()
    assert set(manifest) >= REQUIRED
    assert manifest["name"] == manifest["short_name"] == "Roam Mobile"
    assert (manifest["id"], manifest["start_url"], manifest["scope"]) == ("/", "/", "/")
    assert manifest["display"] == "standalone" and manifest["lang"] == "en"
    assert manifest["theme_color"] == "#00695c"
    assert manifest["description"] == "Top up, renew and check your travel SIM."
    purposes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


def test_every_icon_is_a_png_of_the_size_it_claims(db: Database) -> None:
    b = Browser(db)
    icons = b.get("/manifest.webmanifest").json()["icons"]
    page = b.get("/login").text
    apple = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', page)
    assert apple
    for src, sizes, purpose in [*((i["src"], i["sizes"], i["purpose"]) for i in icons),
                                (apple.group(1), "180x180", "apple")]:
        r = b.get(src)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", src
        image = Image.open(io.BytesIO(r.content))
        image.load()  # decodes every row: a broken PNG (bad CRC, short data) raises here
        assert image.format == "PNG" and f"{image.width}x{image.height}" == sizes, src
        alpha = image.convert("RGBA").getchannel("A")
        corner, centre = alpha.getpixel((0, 0)), alpha.getpixel((image.width // 2,) * 2)
        assert centre == 255, src
        # A maskable icon (and Apple's) fills the square; "any" has round, clear corners.
        assert corner == (0 if purpose == "any" else 255), src
    assert b.get("/icons/nothing.png").status_code == 404


def test_the_manifest_speaks_the_visitors_language(db: Database) -> None:
    zh = Browser(db, lang="zh-CN")
    assert zh.get("/manifest.webmanifest").json()["lang"] == "zh-CN"
    page = zh.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=zh-CN">' in page
    manifest = zh.get("/manifest.webmanifest?lang=zh-CN").json()
    assert manifest["description"] == "为您的旅行 SIM 卡充值、续订和查询。"
    # The link's language wins over the header; an unknown one falls back to the header.
    assert zh.get("/manifest.webmanifest?lang=en").json()["lang"] == "en"
    assert zh.get("/manifest.webmanifest?lang=xx").json()["lang"] == "zh-CN"


def test_every_page_links_the_manifest_theme_colour_and_icons(db: Database) -> None:
    b = branded(db, theme_color="#00695c")
    for path in ("/login", "/plans", "/register"):
        page = b.get(path).text
        assert '<meta name="theme-color" content="#00695c">' in page, path
        assert '<link rel="manifest" href="/manifest.webmanifest?lang=en">' in page, path
        assert '<link rel="apple-touch-icon" href="/icons/apple-touch-icon.png">' in page, path


def test_the_service_worker_is_served_from_the_root_with_its_config(db: Database) -> None:
    b = Browser(db)
    r = b.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"  # a deploy is seen at the next visit
    assert "service-worker-allowed" not in r.headers  # not needed: /sw.js covers /
    config = worker_config(r)
    assert config["shell"] == list(SHELL) and config["offline"] == OFFLINE
    assert re.fullmatch(r"[0-9a-f]{16}", str(config["version"]))
    assert "__CONFIG__" not in r.text
    for url in [*SHELL, *OFFLINE.values()]:  # everything it precaches is there
        assert b.get(url).status_code == 200, url
    assert 'navigator.serviceWorker.register("/sw.js", { scope: "/" })' in \
        b.get("/static/portal.js").text


def test_a_new_look_is_a_new_worker_version(db: Database) -> None:
    """What the worker caches changes with the settings, so must its version (and with it
    its cache name): the browser installs the new worker, which replaces the old cache."""
    base = db.settings

    def version(**change: Any) -> object:
        db.settings = replace(base, **change)
        return worker_config(Browser(db).get("/sw.js"))["version"]

    first = version()
    changed = {version(theme_color="#00695c"), version(operator_name="Roam"),
               version(hotline_number="+86 400 820 8820")}
    assert len(changed) == 3 and first not in changed
    assert version() == first  # the same settings and files: the same worker


def test_the_offline_page_in_both_languages(db: Database) -> None:
    b = branded(db, operator_name="Roam Mobile", hotline_number="+86 400 820 8820")
    en = b.get("/offline?lang=en")
    assert en.status_code == 200 and en.headers["content-type"].startswith("text/html")
    for text in ('<html lang="en">', "You are offline", "Your top-ups are safe",
                 '<a href="tel:+864008208820">+86 400 820 8820</a>', ">Try again</a>",
                 "Roam Mobile"):
        assert text in en.text, text
    zh = b.get("/offline?lang=zh-CN")
    for text in ('<html lang="zh-CN">', "您已离线", "您的充值是安全的", "需要帮助？",
                 "tel:+864008208820", ">重试</a>"):
        assert text in zh.text, text
    assert "您已离线" in Browser(db, lang="zh-CN").get("/offline").text  # Accept-Language
    assert "hotline" not in branded(db, hotline_number="").get("/offline?lang=en").text


def test_the_offline_page_needs_nothing_but_itself(db: Database) -> None:
    """It is shown from the cache with the server down: no stylesheet, script or image to
    fetch, and its one inline style allowed by hash (the portal's CSP forbids inline)."""
    r = Browser(db).get("/offline?lang=en")
    html = r.text
    assert not re.search(r"<script|<img|<link|src=|@import|url\(", html)
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    assert style
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    csp = r.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
