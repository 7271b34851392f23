"""The help area's service on both databases: an edit overrides the shipped text in one
language, unpublished articles are for staff only, revert brings the shipped text back, bad
edits and unknown articles are refused, and search ranks title matches first."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from topup.audit.service import entries
from topup.db.uow import Database
from topup.help import service as help_centre
from topup.help.errors import ArticleNotFound, InvalidArticle


def test_an_edit_overrides_one_language_until_reverted(db: Database) -> None:
    editor = make_user(db, "support")
    with db.unit() as uow:
        saved = help_centre.save(uow, editor.id, "currencies", "zh-CN", "币种", "只收人民币。")
    assert saved.edited and saved.updated_by == editor.id and saved.body == "只收人民币。\n"
    with db.unit(readonly=True) as uow:
        assert help_centre.article(uow, "currencies", "zh-CN").title == "币种"
        assert help_centre.article(uow, "currencies", "en").edited is False
    with db.unit() as uow:
        hidden = help_centre.set_published(uow, editor.id, "currencies", "zh-CN", False)
        assert hidden.published is False
        assert "currencies" not in {a.slug for a in help_centre.articles(uow, "zh-CN")}
        assert "currencies" in {a.slug for a in help_centre.articles(uow, "zh-CN", staff=True)}
        with pytest.raises(ArticleNotFound):
            help_centre.article(uow, "currencies", "zh-CN")
        back = help_centre.revert(uow, editor.id, "currencies", "zh-CN")
    assert back.published and not back.edited and back.title == "接受哪些币种"
    with db.unit(readonly=True) as uow:
        assert [e["action"] for e in entries(uow, "help:currencies:zh-CN")] == [
            "help.revert", "help.unpublish", "help.edit"]


def test_bad_edits_and_unknown_articles_are_refused(db: Database) -> None:
    with db.unit() as uow:
        with pytest.raises(InvalidArticle) as empty:
            help_centre.save(uow, None, "pay", "en", "   ", "text")
        assert empty.value.extra["field"] == "title"
        with pytest.raises(InvalidArticle):
            help_centre.save(uow, None, "pay", "en", "Pay", "x" * 20_001)
        with pytest.raises(ArticleNotFound):
            help_centre.save(uow, None, "no-such", "en", "T", "B")
        with pytest.raises(ArticleNotFound):
            help_centre.article(uow, "pay", "fr")
        with pytest.raises(ArticleNotFound):
            help_centre.revert(uow, None, "no-such", "en")
    with db.unit(readonly=True) as uow:
        assert entries(uow) == []


def test_search_ranks_titles_first_and_needs_every_word(db: Database) -> None:
    with db.unit(readonly=True) as uow:
        hits = help_centre.search(uow, "en", "voucher")
        assert hits[0].article.slug == "redeem-voucher"
        assert "voucher" in hits[0].excerpt.lower()
        assert help_centre.search(uow, "en", "voucher snorkel") == []
        assert help_centre.search(uow, "en", "   ") == []
        zh = help_centre.search(uow, "zh-CN", "自动续订")
        assert zh[0].article.slug == "auto-renew"
