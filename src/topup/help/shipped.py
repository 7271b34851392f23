"""The articles the package ships: ``articles/<lang>/<slug>.md``, each a few ``key: value``
lines (topic, title, order), a ``---`` line, then the Markdown body.

They are read once per process (the files are part of the installed package and do not change
while it runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from topup.help.tables import LANGS

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TOPICS = ("topping-up", "paying", "esim", "plans", "safety")


@dataclass(frozen=True)
class Shipped:
    """One article as the package ships it, in one language."""

    slug: str
    lang: str
    topic: str
    title: str
    body: str
    order: int


def parse(slug: str, lang: str, text: str) -> Shipped:
    """One article file; a malformed file is a packaging mistake, so it raises ValueError."""
    head, sep, body = text.partition("\n---\n")
    if not sep or not SLUG.fullmatch(slug):
        raise ValueError(f"help article {lang}/{slug}.md has no '---' line or a bad name")
    fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    topic = fields.get("topic", "")
    if topic not in TOPICS or not fields.get("title"):
        raise ValueError(f"help article {lang}/{slug}.md needs a known topic and a title")
    return Shipped(slug, lang, topic, fields["title"], body.strip() + "\n",
                   int(fields.get("order", "1000")))


@lru_cache(maxsize=len(LANGS))
def shipped(lang: str) -> dict[str, Shipped]:
    """The shipped articles of ``lang`` by slug, in their order."""
    folder = files("topup.help").joinpath("articles", lang)
    found = [parse(entry.name[:-3], lang, entry.read_text(encoding="utf-8"))
             for entry in folder.iterdir() if entry.name.endswith(".md")]
    return {a.slug: a for a in sorted(found, key=lambda a: (a.order, a.slug))}
