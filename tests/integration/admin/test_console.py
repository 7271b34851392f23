"""The console as a whole: who gets in, where each role lands, what each role's menu offers."""

from __future__ import annotations

import re

import pytest

from tests.integration.admin.conftest import StaffBrowser, sign_in_as
from tests.integration.portal.conftest import PASSWORD, Browser
from topup.channels.admin.nav import SECTIONS
from topup.db.uow import Database
from topup.subscribers import auth
from topup.subscribers.staff import may


@pytest.mark.parametrize("role", ["admin", "support", "finance"])
def test_staff_land_on_the_console_and_see_only_their_sections(role: str, staff: StaffBrowser
                                                                ) -> None:
    b = staff(role)
    home = b.get("/")
    assert home.status_code == 200 and home.url.path == "/admin"
    shown = set(re.findall(r'data-section="(\w+)"', home.text))
    assert shown == {s.key for s in SECTIONS if may(role, s.action)}
    assert 'data-menu="admin"' in home.text
    assert 'data-menu="topup"' not in home.text  # the traveller's menu is not theirs


def test_a_section_outside_the_role_answers_403_in_the_visitors_language(
        staff: StaffBrowser) -> None:
    b = staff("support", lang="zh-CN")
    r = b.get("/admin/audit")
    assert r.status_code == 403
    assert "<html lang=\"zh-CN\"" in r.text


def test_travellers_and_agents_are_kept_out(db: Database, staff: StaffBrowser) -> None:
    for role in ("customer", "agent"):
        assert staff(role).get("/admin").status_code == 403


def test_signed_out_visitors_are_sent_to_log_in(db: Database) -> None:
    r = Browser(db).client.get("/admin/lines", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/admin/lines")


@pytest.mark.parametrize("role", ["network", "terminal"])
def test_machine_logins_cannot_sign_in_to_the_pages(db: Database, role: str) -> None:
    with pytest.raises(AssertionError):
        sign_in_as(db, role)
    b = Browser(db)
    with db.unit() as uow:
        auth.register(uow, email=f"m-{role}@example.com", phone=None, password=PASSWORD,
                      role=role)
    r = b.login(f"m-{role}@example.com")
    assert r.status_code == 422
    assert "for the API only" in r.text
    assert "topup_session" not in b.client.cookies
