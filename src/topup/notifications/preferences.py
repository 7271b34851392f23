"""Each customer's delivery preferences: e-mail on/off, SMS on/off, and quiet hours.

Quiet hours are a window of local time in the customer's time zone (``22:00-07:00`` wraps
midnight). An SMS that falls inside them waits for their end; e-mail is sent anyway (it does
not ring). Messages the customer asked for this minute (a reset code, a keyword reply) ignore
both the switches and the quiet hours: the caller of ``enqueue`` decides that with ``quiet``.
A customer without a row gets the defaults: everything on, no quiet hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.notifications.errors import InvalidPreferences
from topup.notifications.tables import preferences

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Preferences:
    """How a customer wants to hear from us."""

    user_id: int
    email: bool = True
    sms: bool = True
    quiet_start: int | None = None  # minutes after local midnight
    quiet_end: int | None = None
    timezone: str = "UTC"

    @property
    def quiet_hours(self) -> str | None:
        """The window as ``HH:MM-HH:MM``, or None."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return f"{_hhmm(self.quiet_start)}-{_hhmm(self.quiet_end)}"

    def quiet_until(self, at: datetime) -> datetime | None:
        """When the quiet window that contains ``at`` ends (aware UTC), or None when ``at``
        is not in quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        start, end = self.quiet_start, self.quiet_end
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return None
        day = local.date() if minute < end else local.date() + timedelta(days=1)
        ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=zone)
        return ends.astimezone(at.tzinfo)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: str) -> tuple[int, int]:
    """``"22:00-07:00"`` as minutes after midnight; InvalidPreferences when malformed."""
    parts = [p.strip() for p in (text or "").split("-")]
    found = [_HHMM.match(p) for p in parts] if len(parts) == 2 else []
    if len(found) != 2 or not all(found):
        raise InvalidPreferences("quiet hours look like 22:00-07:00", field="quiet_hours")
    start, end = (int(m.group(1)) * 60 + int(m.group(2)) for m in found if m)
    if start == end:
        raise InvalidPreferences("quiet hours must start and end at different times",
                                 field="quiet_hours")
    return start, end


def check_timezone(name: str) -> str:
    """An IANA time zone name (``Asia/Shanghai``), or InvalidPreferences."""
    name = (name or "").strip()
    if name not in available_timezones():
        raise InvalidPreferences(f"unknown time zone {name!r}", field="timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidPreferences(f"unknown time zone {name!r}", field="timezone") from exc
    return name


def get_preferences(uow: UnitOfWork, user_id: int) -> Preferences:
    """The customer's preferences, or the defaults when they never set any."""
    row = uow.conn.execute(select(preferences).where(preferences.c.user_id == user_id)).first()
    if row is None:
        return Preferences(user_id)
    return Preferences(user_id, bool(row.email_enabled), bool(row.sms_enabled),
                       row.quiet_start, row.quiet_end, row.timezone)


KEEP = object()  # set_preferences(quiet_hours=KEEP): leave the window as it is


def set_preferences(uow: UnitOfWork, user_id: int, *, email: bool | None = None,
                    sms: bool | None = None, quiet_hours: str | object | None = KEEP,
                    timezone: str | None = None) -> Preferences:
    """Change some preferences (the others stay); ``quiet_hours=None`` removes the window."""
    current = get_preferences(uow, user_id)
    start, end = current.quiet_start, current.quiet_end
    if quiet_hours is None:
        start = end = None
    elif quiet_hours is not KEEP:
        start, end = parse_window(str(quiet_hours))
    values = {
        "email_enabled": current.email if email is None else email,
        "sms_enabled": current.sms if sms is None else sms,
        "quiet_start": start, "quiet_end": end,
        "timezone": check_timezone(timezone) if timezone is not None else current.timezone,
        "updated_at": uow.now,
    }
    uow.conn.execute(insert_ignore(uow, preferences, {"user_id": user_id, **values},
                                   ["user_id"]))
    uow.conn.execute(preferences.update().where(preferences.c.user_id == user_id)
                     .values(**values))
    return get_preferences(uow, user_id)
