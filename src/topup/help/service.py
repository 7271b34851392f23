"""The help centre's articles: the shipped text (``help/shipped.py``) unless staff edited it
(a row of ``help_articles``), listed, read, searched, edited, published and reverted.

A help centre has tens of articles, so lists and searches read them all and match in Python:
the same on SQLite and PostgreSQL, and a plain substring match works for Chinese, which has no
spaces between words. Every staff change is written to the audit log in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.help.errors import ArticleNotFound, InvalidArticle
from topup.help.render import plain
from topup.help.shipped import Shipped, shipped
from topup.help.tables import LANGS, help_articles

TITLE_MAX = 200
BODY_MAX = 20_000
EXCERPT = 160


@dataclass(frozen=True)
class Article:
    """An article in one language as readers see it: ``edited`` when staff changed the
    shipped text (``updated_at``/``updated_by`` say when and who)."""

    slug: str
    lang: str
    topic: str
    title: str
    body: str
    published: bool
    order: int
    edited: bool
    updated_at: datetime | None = None
    updated_by: int | None = None


@dataclass(frozen=True)
class Hit:
    """A search result: the article and a plain-text excerpt around the first match."""

    article: Article
    excerpt: str


def _from_shipped(s: Shipped) -> Article:
    return Article(s.slug, s.lang, s.topic, s.title, s.body, True, s.order, False)


def _from_row(row: Any, base: Shipped | None) -> Article:
    return Article(row.slug, row.lang, row.topic, row.title, row.body, row.published,
                   base.order if base else 1000, True, row.updated_at, row.updated_by)


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ArticleNotFound(f"the help centre has no language {lang!r}", field="lang")
    return lang


def articles(uow: UnitOfWork, lang: str, *, staff: bool = False) -> list[Article]:
    """Every article of ``lang`` in reading order: published ones only, unless ``staff``."""
    base = shipped(_lang(lang))
    rows = uow.conn.execute(select(help_articles).where(help_articles.c.lang == lang))
    found = {s.slug: _from_shipped(s) for s in base.values()}
    found.update({r.slug: _from_row(r, base.get(r.slug)) for r in rows})
    listed = sorted(found.values(), key=lambda a: (a.order, a.slug))
    return [a for a in listed if staff or a.published]


def article(uow: UnitOfWork, slug: str, lang: str, *, staff: bool = False) -> Article:
    """One article; ArticleNotFound when there is none, or it is unpublished to a reader."""
    row = uow.conn.execute(select(help_articles).where(
        help_articles.c.slug == slug, help_articles.c.lang == _lang(lang))).first()
    base = shipped(lang).get(slug)
    if row is not None:
        found = _from_row(row, base)
    elif base is not None:
        found = _from_shipped(base)
    else:
        raise ArticleNotFound(f"no help article {slug!r} in {lang}")
    if not (found.published or staff):
        raise ArticleNotFound(f"the help article {slug!r} is not published in {lang}")
    return found


def search(uow: UnitOfWork, lang: str, query: str,
           fill: Callable[[str], str] = lambda body: body) -> list[Hit]:
    """Published articles of ``lang`` whose title or body (``fill``-ed, as readers see it)
    holds every word of ``query``, case-insensitively, as substrings; those with the words
    in their title first."""
    terms = query.casefold().split()
    if not terms:
        return []
    scored = []
    for found in articles(uow, lang):
        title, body = found.title.casefold(), plain(fill(found.body))
        text = body.casefold()
        if all(t in title or t in text for t in terms):
            score = sum(10 for t in terms if t in title) + sum(text.count(t) for t in terms)
            scored.append((-score, found.order, Hit(found, _excerpt(body, terms))))
    return [hit for _, _, hit in sorted(scored, key=lambda s: (s[0], s[1]))]


def _excerpt(body: str, terms: list[str]) -> str:
    hits = [m.start() for m in (re.search(re.escape(t), body, re.IGNORECASE) for t in terms) if m]
    start = max(0, min(hits, default=0) - EXCERPT // 3)
    text = body[start:start + EXCERPT]
    return ("…" if start else "") + text + ("…" if start + EXCERPT < len(body) else "")


def _checked(slug: str, lang: str, title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not 0 < len(title) <= TITLE_MAX:
        raise InvalidArticle(f"a title has 1 to {TITLE_MAX} characters", field="title")
    if not 0 < len(body) <= BODY_MAX:
        raise InvalidArticle(f"a body has 1 to {BODY_MAX} characters", field="body")
    return title, body + "\n"


def save(uow: UnitOfWork, actor_id: int | None, slug: str, lang: str, title: str,
         body: str) -> Article:
    """Store staff's text of an article in ``lang`` (it overrides the shipped one from now
    on); it keeps its published flag. Audited as ``help.edit``."""
    current = article(uow, slug, lang, staff=True)
    title, body = _checked(slug, lang, title, body)
    _store(uow, actor_id, current, title=title, body=body)
    audit(uow, actor_id, "help.edit", f"help:{slug}:{lang}", title=title, chars=len(body))
    return article(uow, slug, lang, staff=True)


def set_published(uow: UnitOfWork, actor_id: int | None, slug: str, lang: str,
                  published: bool) -> Article:
    """Show the article to readers, or hide it (staff still see it in the console).
    Audited as ``help.publish`` or ``help.unpublish``."""
    current = article(uow, slug, lang, staff=True)
    _store(uow, actor_id, current, published=published)
    audit(uow, actor_id, "help.publish" if published else "help.unpublish",
          f"help:{slug}:{lang}")
    return article(uow, slug, lang, staff=True)


def revert(uow: UnitOfWork, actor_id: int | None, slug: str, lang: str) -> Article:
    """Drop staff's text: the shipped article shows again, published. Only shipped articles
    can be reverted (ArticleNotFound otherwise). Audited as ``help.revert``."""
    if slug not in shipped(_lang(lang)):
        raise ArticleNotFound(f"the package ships no help article {slug!r} in {lang}")
    gone = uow.conn.execute(delete(help_articles).where(
        help_articles.c.slug == slug, help_articles.c.lang == lang)).rowcount
    audit(uow, actor_id, "help.revert", f"help:{slug}:{lang}", had_edit=bool(gone))
    return article(uow, slug, lang, staff=True)


def _store(uow: UnitOfWork, actor_id: int | None, current: Article, **change: Any) -> None:
    values = {"topic": current.topic, "title": current.title, "body": current.body,
              "published": current.published, **change,
              "updated_at": uow.now, "updated_by": actor_id}
    where = (help_articles.c.slug == current.slug, help_articles.c.lang == current.lang)
    if not current.edited:
        try:
            with uow.savepoint():
                uow.conn.execute(insert(help_articles).values(
                    slug=current.slug, lang=current.lang, **values))
            return
        except IntegrityError:  # another member of staff saved it first: update theirs
            pass
    uow.conn.execute(update(help_articles).where(*where).values(**values))
