"""Errors of the help centre.

HelpError                                root of the help centre's refusals
 ├─ ArticleNotFound (NotFound)           no article has that slug in that language (or it
 │                                       is unpublished and the reader is not staff)
 └─ InvalidArticle (InvalidInput)        an edit's title or body is empty or too long, or a
                                         language is not en or zh-CN; ``field`` names it
"""

from __future__ import annotations

from topup.errors import InvalidInput, NotFound, TopupError


class HelpError(TopupError):
    """Root of the help centre's errors; catch it to handle any of them."""

    code = "help_error"
    title = "The help centre refused the request"


class ArticleNotFound(HelpError, NotFound):
    """Raised when no (published) article has the slug in the language asked for."""

    code = "help_article_not_found"
    title = "Help article not found"


class InvalidArticle(HelpError, InvalidInput):
    """Raised when an edit's title or body is empty or too long (``field`` says which)."""

    code = "invalid_help_article"
    title = "Invalid help article"
