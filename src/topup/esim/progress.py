"""The SM-DP+'s download progress reports (ES2+ ``handleDownloadProgressInfo``).

The SM-DP+ tells the operator how a profile's download goes, one notification point at a
time (SGP.22 §5.3.5): 1 eligibility and retry limit check, 2 confirmation failure, 3 bound
profile package download, 4 its installation. Each report is kept once (the same point,
status and timestamp sent again changes nothing, and is answered the same); an installation
that succeeded makes the profile ``installed``; a failure at any point makes an assigned
profile ``failed`` (the traveller sees it, the operator can release the profile again at the
SM-DP+). Other points are kept and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.esim import inventory
from topup.esim.errors import BadProgressInfo, CallbackRefused
from topup.esim.tables import esim_profile_events as events
from topup.esim.tables import esim_profiles as profiles

INSTALLATION = 4
SUCCESS = ("Executed-Success", "Executed-WithWarning")
FAILURE = ("Failed", "Expired")


@dataclass(frozen=True)
class Report:
    """One ``handleDownloadProgressInfo`` call, checked."""

    requester: str
    iccid: str
    point: int
    status: str
    timestamp: str
    profile_type: str | None
    detail: str | None


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadProgressInfo(f"{name} is missing or not text", field=name)
    return value.strip()


def read_report(body: Any) -> Report:
    """The report in an ES2+ body; BadProgressInfo says what is wrong with it."""
    if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
        raise BadProgressInfo("the body is an ES2+ request with a header", field="header")
    requester = _text(body["header"].get("functionRequesterIdentifier"),
                      "functionRequesterIdentifier", 255)
    point = body.get("notificationPointId")
    if isinstance(point, bool) or not isinstance(point, int) or not 0 < point < 1000:
        raise BadProgressInfo("notificationPointId is a positive integer",
                              field="notificationPointId")
    status_block = body.get("notificationPointStatus")
    if not isinstance(status_block, dict):
        raise BadProgressInfo("notificationPointStatus is an object with a status",
                              field="notificationPointStatus")
    status = _text(status_block.get("status"), "notificationPointStatus.status", 32)
    if status not in SUCCESS + FAILURE:
        raise BadProgressInfo(f"unknown status {status!r}", field="notificationPointStatus")
    data = status_block.get("statusCodeData")
    detail = None
    if isinstance(data, dict):
        detail = " ".join(f"{k}={data[k]}" for k in ("subjectCode", "reasonCode", "message")
                          if data.get(k))[:500] or None
    profile_type = body.get("profileType")
    return Report(requester, _text(body.get("iccid"), "iccid", 22), point, status,
                  _text(body.get("timestamp"), "timestamp", 40),
                  profile_type if isinstance(profile_type, str) else None, detail)


def check_requester(uow: UnitOfWork, report: Report) -> None:
    """When ``TOPUP_SMDP_IDENTITY`` is set, only that SM-DP+ may report."""
    expected = uow.settings.smdp_identity
    if expected and report.requester != expected:
        raise CallbackRefused("this SM-DP+ is not the one configured")


def apply_report(uow: UnitOfWork, report: Report) -> inventory.Profile:
    """Keep ``report`` once and move its profile as it says; the profile after it."""
    check_requester(uow, report)
    profile = inventory.profile_by_iccid(uow, report.iccid)
    kept = uow.conn.execute(insert_ignore(uow, events, {
        "profile_id": profile.id, "at": uow.now, "source": "smdp", "point": report.point,
        "status": report.status, "reported_at": report.timestamp, "detail": report.detail,
    }, ["profile_id", "point", "status", "reported_at"]).returning(events.c.id)).first()
    if kept is None:  # sent again: already applied
        return profile
    moved = _move(report, profile.state)
    if moved is not None:
        values: dict[str, Any] = {"state": moved, "updated_at": uow.now}
        if moved == "installed":
            values["installed_at"] = uow.now
        uow.conn.execute(update(profiles).where(profiles.c.id == profile.id).values(**values))
    return inventory.get_profile(uow, profile.id)


def _move(report: Report, state: str) -> str | None:
    """The state a report takes a profile to, if any: only a sold profile moves."""
    if state not in ("assigned", "failed", "installed"):
        return None
    if report.status in FAILURE and state == "assigned":
        return "failed"
    if report.point == INSTALLATION and report.status in SUCCESS and state != "installed":
        return "installed"
    return None
