"""Real-browser tests: Debian's chromium driven by Playwright against the real server.

- ``live``: ``topup demo`` and ``topup serve`` on a fresh SQLite data folder, in a subprocess
  on 127.0.0.1:<free port>, with the sandbox payment provider and no embedded worker; one per
  xdist worker (session scope), stopped at the end of the session.
- ``browser``: chromium from ``/usr/bin/chromium`` (``TOPUP_CHROMIUM`` to change it), launched
  by Playwright without ``playwright install``. One per test module and worker, not per
  session: while Playwright's sync API is started it leaves its asyncio loop marked as running
  in the worker's main thread, which breaks ``asyncio.run`` in the other tests that worker
  runs next (the IVR tests), so it is stopped when the worker leaves the module.
- ``page``: a fresh context (English, UTC, desktop size) per test; a script error on any of
  its pages fails the test.
- ``shoot``: screenshots at phone (360x740) and desktop (1280x800) width; see ``Shooter``.

Without chromium (or Playwright) the tests are skipped locally and fail on CI, as the
PostgreSQL tests are.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import support
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SHOTS,
    Live,
    Shooter,
    Watched,
    open_page,
    own_server,
    require_chromium,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``topup demo`` + ``topup serve`` for this worker's browser tests."""
    with own_server(tmp_path_factory.mktemp("live")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for the tests of one module."""
    require_chromium()
    with support.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True, timeout=30_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watched() -> Watched:
    """Script errors and off-machine requests of the test's pages."""
    return Watched()


@pytest.fixture
def page(browser: Browser, live: Live, watched: Watched) -> Iterator[Page]:
    """A fresh page; the test fails if a script on it threw."""
    page = open_page(browser, live, watched)
    try:
        yield page
    finally:
        page.context.close()
    assert watched.js_errors == [], f"script errors: {watched.js_errors}"


@pytest.fixture
def shoot(tmp_path: Path) -> Shooter:
    """Take screenshots: ``shoot(page, "dashboard")``."""
    if os.environ.get("TOPUP_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        return Shooter(SHOTS)
    return Shooter(tmp_path)
