"""Article Markdown to HTML, safely: raw HTML is off (any tag a body holds is shown as text),
images are off (a help page loads nothing from elsewhere), and links keep markdown-it's check
that refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` targets.

Bodies may hold ``{{name}}`` placeholders that the page fills with what the operator set up
(the hotline, the accepted currencies, the payment methods), so the articles never go stale
when the settings change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from markdown_it import MarkdownIt

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"[*_`#>]+")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").disable("image")
    return md


MARKDOWN = _parser()


def fill(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each known ``{{name}}`` replaced; unknown names stay as typed, so a
    misspelt placeholder shows in the preview instead of vanishing."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def to_html(body: str) -> str:
    """The body as HTML that is safe to put in a page as it is."""
    return MARKDOWN.render(body)


def plain(body: str) -> str:
    """The body as one line of text (for search excerpts): link texts kept, marks dropped."""
    text = _LINK.sub(lambda m: m.group(1), body)
    return " ".join(_MARKS.sub("", text).replace("|", " ").split())
