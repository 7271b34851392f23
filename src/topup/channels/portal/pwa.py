"""The portal as an installable app (a Progressive Web App): its manifest, its service
worker, the offline page and the app icons, all made from the operator's settings.

=========================  ================================================================
``/manifest.webmanifest``  the web app manifest (``?lang=`` the page's language)
``/sw.js``                 the service worker: ``static/sw.js`` with its CONFIG filled in
``/offline``               the offline page (``?lang=en|zh-CN``), self-contained
``/icons/<name>``          the app icons (``icons.py``)
=========================  ================================================================

The worker's version is a hash of everything it keeps (the static shell and the offline
pages), so a deploy or a settings change that alters any of it makes a new worker, which
replaces the cache. What the worker keeps, and why pages never are, is said in sw.js.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from topup.channels.portal.i18n import (
    LANG_COOKIE,
    LANGS,
    N_,
    negotiate,
    normalise,
    translator,
)
from topup.channels.portal.icons import SIZES, icon, ink_on
from topup.channels.portal.rendering import render
from topup.config import Settings
from topup.errors import NotFound

STATIC = Path(__file__).parent / "static"
SHELL = ("/static/portal.css", "/static/portal.js", *(f"/icons/{name}" for name in SIZES))
OFFLINE = {lang: f"/offline?lang={lang}" for lang in LANGS}
BACKGROUND = "#ffffff"  # the splash screen's, as the pages' own background
DESCRIPTION = N_("Top up, renew and check your travel SIM.")
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# Answers that depend on the visitor's language are re-checked, never served from a cache.
BY_LANGUAGE = NOSNIFF | {"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Brand:
    """The settings the app is made from (hashable, unlike ``Settings``)."""

    operator: str
    theme_color: str
    hotline: str
    icons_folder: str

    @classmethod
    def of(cls, s: Settings) -> Brand:
        return cls(s.operator_name, s.theme_color, s.hotline_number, s.app_icons)


@dataclass(frozen=True)
class App:
    """What the routes serve for one ``Brand``, made once per process."""

    icons: dict[str, bytes]
    offline: dict[str, str]  # language -> HTML
    offline_csp: str
    worker: str
    version: str


def offline_css(color: str) -> str:
    """The offline page's inline stylesheet, in the theme colour."""
    ink = ink_on(color)
    on_brand = "#{:02x}{:02x}{:02x}".format(*ink[:3])
    # Text in the theme colour only where it is dark enough to read on white.
    accent = color if on_brand == "#ffffff" else "#111111"
    return (f":root {{ --brand: {color}; --on-brand: {on_brand}; --accent: {accent}; }}\n"
            + (STATIC / "offline.css").read_text())


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _worker(version: str) -> str:
    config = {"version": version, "shell": list(SHELL), "offline": OFFLINE}
    source = (STATIC / "sw.js").read_text()
    assert source.count("__CONFIG__") == 1, "sw.js has one CONFIG to fill in"
    return source.replace("__CONFIG__", json.dumps(config, sort_keys=True))


@lru_cache(maxsize=4)
def app_for(brand: Brand) -> App:
    """The icons, offline pages and worker of ``brand`` (drawn and rendered once)."""
    icons = {name: icon(name, brand.theme_color, brand.icons_folder) for name in SIZES}
    css = offline_css(brand.theme_color)
    offline = {lang: render("offline.html", {
        "t": translator(lang), "lang": lang, "operator": brand.operator,
        "theme_color": brand.theme_color, "hotline": brand.hotline, "css": css})
        for lang in LANGS}
    digest = hashlib.sha256()
    for part in [*(icons[n] for n in sorted(icons)), *(offline[lang].encode() for lang in LANGS),
                 *((STATIC / name).read_bytes() for name in ("portal.css", "portal.js", "sw.js"))]:
        digest.update(hashlib.sha256(part).digest())
    version = digest.hexdigest()[:16]
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")
    return App(icons, offline, csp, _worker(version), version)


def _app(request: Request) -> App:
    return app_for(Brand.of(request.app.state.db.settings))


def _language(request: Request, asked: str) -> str:
    """``asked`` if it is one of ours, else the visitor's cookie, else Accept-Language."""
    return (normalise(asked) or normalise(request.cookies.get(LANG_COOKIE))
            or negotiate(request.headers.get("accept-language")))


def manifest_of(s: Settings, lang: str) -> dict[str, Any]:
    """The web app manifest (W3C Web Application Manifest) in ``lang``."""
    return {
        "id": "/", "name": s.operator_name, "short_name": s.operator_name,
        "description": translator(lang).gettext(DESCRIPTION),
        "lang": lang, "dir": "ltr", "start_url": "/", "scope": "/", "display": "standalone",
        "theme_color": s.theme_color, "background_color": BACKGROUND,
        "icons": [
            {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png",
             "purpose": "any"},
            {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png",
             "purpose": "any"},
            {"src": "/icons/icon-maskable-512.png", "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }


@router.get("/manifest.webmanifest")
def manifest(request: Request, lang: str = "") -> Response:
    """The manifest that makes the portal installable (linked from every page)."""
    body = manifest_of(request.app.state.db.settings, _language(request, lang))
    return Response(json.dumps(body, ensure_ascii=False, indent=1),
                    media_type="application/manifest+json", headers=BY_LANGUAGE)


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    """The service worker; at the root, so that its scope is the whole site."""
    return Response(_app(request).worker, media_type="text/javascript; charset=utf-8",
                    headers=NOSNIFF | {"Cache-Control": "no-cache",
                                       "Content-Security-Policy": "default-src 'self'"})


@router.get("/offline")
def offline(request: Request, lang: str = "") -> Response:
    """The page the worker shows when a page cannot be loaded; no script, no account data."""
    found = _app(request)
    return Response(found.offline[_language(request, lang)], media_type="text/html",
                    headers=BY_LANGUAGE | {"Content-Security-Policy": found.offline_csp,
                                           "Referrer-Policy": "same-origin"})


@router.get("/icons/{name}")
def app_icon(request: Request, name: str) -> Response:
    """An app icon (cached for a day, as the stylesheet)."""
    if name not in SIZES:
        raise NotFound()
    return Response(_app(request).icons[name], media_type="image/png",
                    headers=NOSNIFF | {"Cache-Control": "public, max-age=86400"})
