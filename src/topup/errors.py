"""The root of every error topup raises on purpose.

TopupError                      root; carries a stable ``code``, an HTTP ``status`` and a title
 ├─ NotFound                    a thing asked for does not exist (or is not the caller's to see)
 ├─ Forbidden                   the caller is known but may not do this
 ├─ Unauthenticated             no valid credentials were given
 ├─ InvalidInput                input is well-formed but not acceptable (bad ICCID, bad amount)
 ├─ Conflict                    the request conflicts with the current state
 │   └─ IdempotencyKeyReused    the same Idempotency-Key came with a different request
 └─ RateLimited                 too many attempts; try again later

Each area (ledger, catalog, subscribers, orders, charging, auth) derives its own errors from
these; the API maps all of them in one place (``channels/api/problems.py``) to RFC 9457
problem+json with the ``code`` as a stable machine-readable member.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TopupError(Exception):
    """Root of all deliberate errors; ``code`` is stable and documented."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request failed"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(TopupError):
    """Raised when a resource does not exist or is not visible to the caller."""

    code = "not_found"
    status = 404
    title = "Not found"


class Forbidden(TopupError):
    """Raised when an authenticated caller lacks the role or ownership needed."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class Unauthenticated(TopupError):
    """Raised when credentials are missing, wrong or expired."""

    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class InvalidInput(TopupError):
    """Raised when a value is syntactically fine but not acceptable."""

    code = "invalid_input"
    status = 422
    title = "Invalid input"


class Conflict(TopupError):
    """Raised when the request conflicts with the current state of a resource."""

    code = "conflict"
    status = 409
    title = "Conflict"


class IdempotencyKeyReused(Conflict):
    """Raised when an Idempotency-Key is replayed with a different request body or path."""

    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key reused with a different request"


class RateLimited(TopupError):
    """Raised when a caller exceeded an attempt limit and is temporarily locked out."""

    code = "rate_limited"
    status = 429
    title = "Too many attempts"
