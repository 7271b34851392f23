"""The portal's own state: signed-in browser sessions.

A web session wraps a bearer token of ``subscribers.auth`` (so a password reset or a disabled
account ends it) and adds what a browser needs: an idle timeout and an absolute lifetime.
Only the SHA-256 of the cookie's token is stored.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint("length(token_hash) = 64", name="token_hash_sha256"),
    CheckConstraint("expires_at > created_at", name="expires_after_creation"),
)
