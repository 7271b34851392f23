"""/charging/sessions and /charging/events: online charging for gateways that speak HTTP (5G's
Nchf, shaped after 3GPP TS 32.291's converged charging), for the network role.

A gateway creates a session for a line, then updates it with what each rating group used
and wants next, then releases it (``charging/sessions.py`` does the charging). Field names
follow TS 32.291 (``multipleUnitUsage``, ``requestedUnit``, ``usedUnitContainer``,
``multipleUnitInformation``, ``grantedUnit``, ``validityTime``, ``finalUnitIndication``); the
unit of a rating group is the one its units name: ``totalVolume`` (bytes of data), ``time``
(seconds of voice) or ``serviceSpecificUnits`` (messages). A rating group without
``requestedUnit`` only reports use; an empty ``requestedUnit`` asks for the default quota.
The session is named by the gateway (``sessionId``) so that a retransmitted create, like any
retransmitted request (same ``invocationSequenceNumber``), gets the same answer. A one-time
event (TS 32.291's immediate event charging) is a session of one request, debited whole or
not at all. Requests are
committed by the database's writer (the writer process under ``topup serve``), many to a
transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from topup.channels.api.deps import database, role
from topup.charging.charges import Charge
from topup.charging.sessions import MAX_QUANTITY, Answer, Ask, ask_of
from topup.db.uow import Database
from topup.subscribers.auth import User

router = APIRouter(tags=["charging"])
ROLES = ("network", "admin")
FIELDS = {"totalVolume": "data", "time": "voice", "serviceSpecificUnits": "sms"}
RESULTS = {"success": "SUCCESS", "credit_limit_reached": "QUOTA_LIMIT_REACHED",
           "rating_failed": "RATING_FAILED"}


class ServiceUnit(BaseModel):
    """Units of one kind: bytes, seconds or messages."""

    model_config = ConfigDict(extra="forbid")
    totalVolume: int | None = Field(None, ge=0, le=MAX_QUANTITY, description="bytes of data")
    time: int | None = Field(None, ge=0, le=MAX_QUANTITY, description="seconds of voice")
    serviceSpecificUnits: int | None = Field(None, ge=0, le=MAX_QUANTITY,
                                             description="messages")


class MultipleUnitUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratingGroup: int = Field(..., ge=0, lt=2**32)
    requestedUnit: ServiceUnit | None = Field(
        None, description="Absent: nothing more wanted; empty: the default quota")
    usedUnitContainer: list[ServiceUnit] = Field(default_factory=list, max_length=32)


class ChargingDataRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invocationSequenceNumber: int = Field(..., ge=0, lt=2**31)
    multipleUnitUsage: list[MultipleUnitUsage] = Field(default_factory=list, max_length=16)


class ChargingDataCreate(ChargingDataRequest):
    sessionId: str = Field(..., min_length=1, max_length=200,
                           description="The gateway's name for the session")
    subscriberIdentifier: str = Field(
        ..., min_length=1, max_length=40,
        description="imsi-<IMSI>, msisdn-<MSISDN>, or a bare ICCID, MSISDN or IMSI")
    country: str = Field(..., min_length=2, max_length=2,
                         description="ISO 3166-1 alpha-2 of the network serving the line")


class FinalUnitIndication(BaseModel):
    finalUnitAction: Literal["TERMINATE"]


class MultipleUnitInformation(BaseModel):
    ratingGroup: int
    resultCode: Literal["SUCCESS", "QUOTA_LIMIT_REACHED", "RATING_FAILED"]
    grantedUnit: ServiceUnit | None = None
    validityTime: int | None = Field(None, description="seconds")
    finalUnitIndication: FinalUnitIndication | None = None


class ChargingDataResponse(BaseModel):
    sessionId: str
    invocationSequenceNumber: int
    invocationResult: Literal["SUCCESS", "QUOTA_LIMIT_REACHED", "RATING_FAILED"]
    multipleUnitInformation: list[MultipleUnitInformation]


@router.post("/charging/sessions", status_code=201, response_model=ChargingDataResponse,
             response_model_exclude_none=True)
async def create_session(body: ChargingDataCreate, response: Response,
                         _: User = Depends(role(*ROLES)),
                         db: Database = Depends(database)) -> Any:
    """Open a charging session on a line and grant each rating group its first quota, held
    from the line's buckets, then its wallet at the out-of-bundle rate."""
    asks = _asks(body)
    answer = await db.writer.run(Charge(
        body.sessionId, body.invocationSequenceNumber, "initial", tuple(asks),
        subscriber=_identifier(body.subscriberIdentifier), country=body.country))
    response.headers["Location"] = f"/api/v1/charging/sessions/{body.sessionId}"
    return _out(answer, asks)


@router.post("/charging/sessions/{ref}/update", response_model=ChargingDataResponse,
             response_model_exclude_none=True)
async def update_session(ref: str, body: ChargingDataRequest, _: User = Depends(role(*ROLES)),
                         db: Database = Depends(database)) -> Any:
    """Commit what each rating group used since its last grant and grant the next quota."""
    asks = _asks(body)
    answer = await db.writer.run(Charge(ref, body.invocationSequenceNumber, "update",
                                        tuple(asks)))
    return _out(answer, asks)


@router.post("/charging/sessions/{ref}/release", status_code=204,
             response_class=Response)
async def release_session(ref: str, body: ChargingDataRequest,
                          _: User = Depends(role(*ROLES)),
                          db: Database = Depends(database)) -> Response:
    """Commit the last use, release everything held and close the session."""
    asks = _asks(body, releasing=True)
    await db.writer.run(Charge(ref, body.invocationSequenceNumber, "terminate", tuple(asks)))
    return Response(status_code=204)


@router.post("/charging/events", response_model=ChargingDataResponse,
             response_model_exclude_none=True)
async def one_time_event(body: ChargingDataCreate, _: User = Depends(role(*ROLES)),
                         db: Database = Depends(database)) -> Any:
    """A one-time event (an SMS, say): each rating group's requested units debited whole and
    at once, or not at all (``QUOTA_LIMIT_REACHED``); nothing stays open. ``sessionId``
    names the event: sent again with the same ``invocationSequenceNumber`` it gets the same
    answer and moves nothing."""
    asks = _asks(body)
    answer = await db.writer.run(Charge(
        body.sessionId, body.invocationSequenceNumber, "event", tuple(asks),
        subscriber=_identifier(body.subscriberIdentifier), country=body.country))
    return _out(answer, asks)


def _identifier(sent: str) -> str:
    for prefix in ("imsi-", "msisdn-"):
        if sent.lower().startswith(prefix):
            return sent[len(prefix):]
    return sent


def _asks(body: ChargingDataRequest, *, releasing: bool = False) -> list[Ask]:
    asks = []
    for usage in body.multipleUnitUsage:
        ask = ask_of(usage.ratingGroup, usage.requestedUnit, usage.usedUnitContainer, FIELDS,
                     wanted=not releasing, where="multipleUnitUsage")
        # each container is bounded by the schema; their sum is held to the same bound
        asks.append(replace(ask, used=min(ask.used, MAX_QUANTITY)))
    return asks


def _out(answer: Answer, asks: list[Ask]) -> dict[str, Any]:
    units = {a.rating_group: a.unit for a in asks}
    info = []
    for g in answer.grants:
        field = next(name for name, u in FIELDS.items() if u == units[g.rating_group])
        item: dict[str, Any] = {"ratingGroup": g.rating_group, "resultCode": RESULTS[g.result]}
        if g.granted:
            item["grantedUnit"] = {field: g.granted}
        if g.granted and g.validity_seconds:  # an event's units are spent: no validity
            item["validityTime"] = g.validity_seconds
        if g.final and g.result == "success":
            item["finalUnitIndication"] = {"finalUnitAction": "TERMINATE"}
        info.append(item)
    return {"sessionId": answer.ref, "invocationSequenceNumber": answer.number,
            "invocationResult": RESULTS[answer.result], "multipleUnitInformation": info}
