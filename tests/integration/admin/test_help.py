"""The help centre in the console: staff (admin, support) edit an article per language with a
server-rendered preview, publish and unpublish it, and go back to the shipped text; each change
is audited; finance, travellers and visitors cannot edit; an edited body cannot inject HTML."""

from __future__ import annotations

import re

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.portal.conftest import Browser, csrf_of
from topup.audit.service import entries
from topup.db.uow import Database

PAGE = "/admin/help/money-late/en"


def post(b: Browser, action: str, data: dict[str, str], page: str = PAGE):  # type: ignore[no-untyped-def]
    return b.submit(page, action, data, follow_redirects=False)


def test_support_previews_saves_and_reverts_an_article(db: Database, staff: StaffBrowser
                                                        ) -> None:
    b = staff("support")
    listing = b.get("/admin/help")
    assert listing.status_code == 200 and 'data-slug="money-late"' in listing.text
    body = "## Wait a little\n\nMoney can take **up to an hour** on holidays."
    shown = post(b, PAGE, {"title": "Late money", "body": body, "action": "preview"})
    assert shown.status_code == 200 and 'id="help-preview"' in shown.text
    assert "<strong>up to an hour</strong>" in shown.text and "<h2>Wait a little</h2>" in shown.text
    reader = Browser(db, {})
    assert "up to an hour" not in reader.get("/help/money-late").text  # a preview saves nothing
    saved = post(b, PAGE, {"title": "Late money", "body": body, "action": "save"})
    assert saved.status_code == 303 and "notice=help_saved" in saved.headers["location"]
    page = reader.get("/help/money-late").text
    assert "Late money" in page and "<strong>up to an hour</strong>" in page
    assert "up to an hour" not in reader.get("/help/money-late?lang=zh-CN").text  # one language
    assert "Late money" in reader.get("/help", params={"q": "hour holidays"}).text
    with db.unit(readonly=True) as uow:
        [edit] = entries(uow, "help:money-late:en")
    assert edit["action"] == "help.edit" and edit["data"]["title"] == "Late money"
    reverted = post(b, f"{PAGE}/revert", {})
    assert reverted.status_code == 303
    assert "Wait up to 30 minutes" in reader.get("/help/money-late").text
    with db.unit(readonly=True) as uow:
        assert [e["action"] for e in entries(uow, "help:money-late:en")] == [
            "help.revert", "help.edit"]


def test_an_unpublished_article_is_gone_for_readers_only(db: Database, staff: StaffBrowser
                                                         ) -> None:
    b = staff("admin", lang="zh-CN")
    zh = "/admin/help/auto-renew/zh-CN"
    assert "自动续订" in b.get(zh).text
    assert post(b, f"{zh}/unpublish", {}, zh).status_code == 303
    reader = Browser(db, {}, "zh-CN")
    assert reader.get("/help/auto-renew").status_code == 404
    assert 'data-slug="auto-renew"' not in reader.get("/help").text
    assert Browser(db, {}).get("/help/auto-renew").status_code == 200  # English still shows
    assert 'data-state="hidden"' in b.get(zh).text
    assert post(b, f"{zh}/publish", {}, zh).status_code == 303
    assert reader.get("/help/auto-renew").status_code == 200


def test_an_edited_body_cannot_inject_html(db: Database, staff: StaffBrowser) -> None:
    b = staff("admin")
    body = ('<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n'
            '[click](javascript:alert(1)) and [ours](/check)')
    shown = post(b, PAGE, {"title": "<b>Late</b>", "body": body, "action": "preview"})
    assert "<script>alert" not in shown.text and "&lt;script&gt;" in shown.text
    post(b, PAGE, {"title": "<b>Late</b>", "body": body, "action": "save"})
    page = Browser(db, {}).get("/help/money-late").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<img" not in page and "<b>Late</b>" not in page
    assert 'href="javascript:' not in page and '<a href="/check">ours</a>' in page


def test_a_refused_edit_keeps_what_was_typed(staff: StaffBrowser) -> None:
    b = staff("admin")
    r = post(b, PAGE, {"title": " ", "body": "Kept text", "action": "save"})
    assert r.status_code == 422 and "Kept text" in r.text and 'id="e-title"' in r.text
    typo = post(b, PAGE, {"title": "T", "body": "{{hotlin}}", "action": "preview"})
    assert 'id="help-unknown"' in typo.text


def test_finance_travellers_and_visitors_cannot_edit(db: Database, staff: StaffBrowser) -> None:
    for role in ("finance", "customer"):
        b = staff(role)
        assert b.get("/admin/help").status_code == 403
        token = csrf_of(b.get("/help").text)
        r = b.client.post(PAGE, data={"csrf_token": token, "title": "x", "body": "y",
                                      "action": "save"}, follow_redirects=False)
        assert r.status_code == 403
    anon = Browser(db, {})
    r = anon.client.get("/admin/help", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert anon.get("/help/money-late").status_code == 200
    with db.unit(readonly=True) as uow:
        assert entries(uow, "help:money-late:en") == []
    assert re.search(r"Wait up to 30 minutes", anon.get("/help/money-late").text)
