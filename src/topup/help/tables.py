"""Staff edits of help articles: one row per article and language, overriding the text the
package ships (``help/articles``); a shipped article without a row shows its shipped text.

Invariants held by the schema:
- one row per (slug, language); the language is en or zh-CN;
- a slug is lower-case letters, digits and dashes (it is part of the page's address);
- title and body are never empty.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

LANGS = ("en", "zh-CN")

help_articles = Table(
    "help_articles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(60), nullable=False),
    Column("lang", String(5), nullable=False),
    Column("topic", String(30), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", Id, ForeignKey("users.id"), nullable=True),
    UniqueConstraint("slug", "lang"),
    CheckConstraint("lang IN ('en', 'zh-CN')", name="lang"),
    CheckConstraint("length(title) > 0 AND length(body) > 0", name="not_empty"),
)
