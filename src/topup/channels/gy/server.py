"""Diameter Gy (RFC 4006 / RFC 8506 Credit-Control) in front of ``charging/sessions.py``.

topup is the online charging server (OCS) a packet gateway, or a Diameter relay in front of
several, connects to. The Diameter base protocol (CER/CEA, DWR/DWA, DPR/DPA, the peer state
machine) is python-diameter's; this module translates each Credit-Control-Request into one
``charge`` and its answer into the Credit-Control-Answer, so nothing else in topup sees a
Diameter type:

- CC-Request-Type INITIAL / UPDATE / TERMINATION / EVENT → ``initial`` / ``update`` /
  ``terminate`` / ``event`` (Requested-Action DIRECT_DEBITING: the units debited whole or
  not at all; balance checks, price enquiries and refunds are answered 5012); Session-Id and
  CC-Request-Number name the request, so a retransmission gets the same answer and moves
  nothing;
- Subscription-Id: the line, by END_USER_IMSI first, then END_USER_E164;
- 3GPP-SGSN-MCC-MNC (PS-Information): the country serving the line (its home country when
  absent);
- each Multiple-Services-Credit-Control: Rating-Group; Used-Service-Unit (summed) and
  Requested-Service-Unit in CC-Total-Octets (data), CC-Time (voice) or
  CC-Service-Specific-Units (SMS); an empty Requested-Service-Unit asks for the default quota,
  none asks for nothing more; the answer carries Granted-Service-Unit, Validity-Time, a
  Result-Code in every MSCC and Final-Unit-Indication (TERMINATE) on the last quota.

A session whose last answer left the line short (a final quota, or 4012) is re-authorized
when the line has something to grant again, a top-up say: within ``REAUTH_SECONDS`` the
server sends the gateway a Re-Auth-Request (AUTHORIZE_ONLY) for it, once, and the gateway's
next CCR-U is granted.

Result-Codes: 2001 success; 4012 credit limit reached (in the MSCC, and at message level when
every rating group got it); 5031 rating failed; 5030 user unknown; 4010 end user service
denied (a frozen or terminated line); 5002 unknown session id; 5012 unable to comply (a
request that conflicts with its session, or that cannot be answered); 3004 too busy (the
database's writer refused more work, or is stopping: the gateway tries again).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import mobile_codes
from diameter.message import constants as C
from diameter.message.avp.grouped import FinalUnitIndication, GrantedServiceUnit
from diameter.message.commands import CreditControlAnswer, CreditControlRequest, ReAuthRequest
from diameter.node.application import Application
from diameter.node.peer import PEER_CLOSING

from topup.channels.gy.node import Node
from topup.charging.charges import Charge
from topup.charging.errors import (
    ChargingRequestConflict,
    ChargingSessionClosed,
    ChargingSessionNotFound,
    InvalidChargingRequest,
)
from topup.charging.sessions import Answer, ask_of, reauthorized, to_reauthorize
from topup.db.group import WriterClosed
from topup.db.uow import Database, UnitOfWork
from topup.db.writer import DatabaseBusy
from topup.errors import TopupError
from topup.subscribers.errors import LineNotFound, LineNotUsable

log = logging.getLogger(__name__)
REAUTH_SECONDS = 1.0  # how often starved sessions are looked for

KINDS = {C.E_CC_REQUEST_TYPE_INITIAL_REQUEST: "initial",
         C.E_CC_REQUEST_TYPE_UPDATE_REQUEST: "update",
         C.E_CC_REQUEST_TYPE_TERMINATION_REQUEST: "terminate",
         C.E_CC_REQUEST_TYPE_EVENT_REQUEST: "event"}
UNIT_FIELDS = {"cc_total_octets": "data", "cc_time": "voice",
               "cc_service_specific_units": "sms"}
RESULTS = {"success": C.E_RESULT_CODE_DIAMETER_SUCCESS,
           "credit_limit_reached": C.E_RESULT_CODE_DIAMETER_CREDIT_LIMIT_REACHED,
           "rating_failed": C.E_RESULT_CODE_DIAMETER_RATING_FAILED}
# Where one MCC serves several countries, the one whose network it names first.
SHARED_MCC = {"310": "US", "311": "US", "312": "US", "313": "US", "316": "US", "234": "GB",
              "235": "GB", "208": "FR", "505": "AU", "302": "CA", "425": "IL", "647": "RE"}
# topup's refusals as Result-Codes (first match wins).
REFUSALS: tuple[tuple[type[TopupError], int], ...] = (
    (LineNotFound, C.E_RESULT_CODE_DIAMETER_USER_UNKNOWN),
    (LineNotUsable, C.E_RESULT_CODE_DIAMETER_END_USER_SERVICE_DENIED),
    (ChargingSessionNotFound, C.E_RESULT_CODE_DIAMETER_UNKNOWN_SESSION_ID),
    (ChargingSessionClosed, C.E_RESULT_CODE_DIAMETER_UNKNOWN_SESSION_ID),
    (ChargingRequestConflict, C.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY),
    (InvalidChargingRequest, C.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY),
)


@dataclass(frozen=True)
class Peer:
    """A Diameter peer allowed to connect: a gateway or a relay (its Origin-Host and realm),
    and, when given, the only address its connections may come from."""

    identity: str
    realm: str
    address: str | None = None

    @classmethod
    def parse(cls, text: str) -> Peer:
        """``identity@realm`` or ``identity@realm/address``, e.g.
        ``dra.relay.example@relay.example/10.0.0.7``."""
        named, _, address = text.strip().lower().partition("/")
        identity, sep, realm = named.partition("@")
        if not sep or not identity or not realm:
            raise ValueError(f"a peer is identity@realm[/address], not {text!r}")
        if address:
            try:
                address = str(ipaddress.ip_address(address))
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address") from None
        return cls(identity, realm, address or None)


def serving_country(mcc_mnc: str | None) -> str | None:
    """The ISO 3166 country of the network named by a 3GPP-SGSN-MCC-MNC, if known."""
    if not mcc_mnc or len(mcc_mnc) < 3 or not mcc_mnc[:3].isdigit():
        return None
    mcc = mcc_mnc[:3]
    if mcc in SHARED_MCC:
        return SHARED_MCC[mcc]
    try:
        found = mobile_codes.mcc(mcc)
    except KeyError:
        return None
    return str(found[0].alpha2) if len(found) == 1 else None


def _mark_reauthorized(session_id: int, uow: UnitOfWork) -> None:
    reauthorized(uow, session_id)


class GyServer:
    """topup's Credit-Control application on a Diameter node listening at ``host:port``."""

    def __init__(self, db: Database, *, identity: str, realm: str, host: str, port: int,
                 peers: list[Peer], gateway_realms: list[str] | None = None,
                 reauth_seconds: float = REAUTH_SECONDS) -> None:
        """``gateway_realms``: realms of gateways behind a relay peer (re-authorization
        requests to them go through it); ``reauth_seconds``: how often starved sessions are
        looked for."""
        self.db, self.identity, self.realm = db, identity, realm
        self.reauth_seconds = reauth_seconds
        self.rounds = 0  # re-authorization rounds done
        self.node = _Node(identity, realm, ip_addresses=[host], tcp_port=port,
                          vendor_ids=[C.VENDOR_TGPP])
        for p in peers:  # a peer named with addresses may connect from those only
            if p.address:
                self.node.addresses.setdefault(p.identity, set()).add(p.address)
        self.node.wakeup_interval = 1  # timers (watchdogs, stopping) checked every second
        known = [self.node.add_peer(f"aaa://{host}", host_realm) for host, host_realm in
                 dict.fromkeys((p.identity, p.realm) for p in peers)]
        self.app = _CreditControl(self._receive)
        # requests for topup's own realm, and for the peers' (a relay forwards both)
        self.node.add_application(self.app, known, realms=sorted(
            {realm, *(p.realm for p in peers), *(gateway_realms or [])}))
        self._stopping = threading.Event()
        self._reauth = threading.Thread(target=self._reauthorize, name="gy-reauth",
                                        daemon=True)
        # committed requests whose answers are to go out (None: stop)
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._answers = threading.Thread(target=self._answering, name="gy-answers",
                                         daemon=True)
        self._loop = asyncio.new_event_loop()  # where requests are handed to the writer
        self._looping = threading.Thread(target=self._loop.run_forever, name="gy-writes",
                                         daemon=True)

    def start(self) -> None:
        self._looping.start()
        self._answers.start()
        self.node.start()
        self._reauth.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._reauth.is_alive():
            self._reauth.join(timeout=10)
        self.node.stop(wait_timeout=5)
        if self._looping.is_alive():
            try:  # what is still waiting for the writer, and its link, closed on the loop
                asyncio.run_coroutine_threadsafe(_cancel_all(), self._loop).result(10)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._looping.join(timeout=10)
        if not self._looping.is_alive():
            self._loop.close()
        self._done.put(None)
        if self._answers.is_alive():
            self._answers.join(timeout=10)

    def _reauthorize(self) -> None:
        """Send a RAR for every starved session whose line can be granted again."""
        while not self._stopping.wait(self.reauth_seconds):
            try:
                with self.db.unit(readonly=True) as uow:
                    due = to_reauthorize(uow)
                for s in due:
                    self._send_rar(s.ref, s.peer_host, s.peer_realm)
                    self.db.transact(partial(_mark_reauthorized, s.session_id),
                                     what="gy re-authorization")
            except Exception:  # keep looking; the next round tries again
                log.exception("re-authorization round failed")
            self.rounds += 1

    def _send_rar(self, ref: str, host: str, realm: str) -> None:
        rar = ReAuthRequest()
        rar.session_id = ref
        rar.origin_host = self.identity.encode()
        rar.origin_realm = self.realm.encode()
        rar.destination_realm = realm.encode()
        rar.destination_host = host.encode()
        rar.auth_application_id = C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION
        rar.re_auth_request_type = C.E_RE_AUTH_REQUEST_TYPE_AUTHORIZE_ONLY
        try:
            raa = self.app.send_request(rar, timeout=5)
            log.info("RAR for %s answered %s", ref, getattr(raa, "result_code", None))
        except Exception as exc:  # no route, or no answer: the gateway asks at validity's end
            log.warning("RAR for %s not answered: %s", ref, exc)

    def wait_for_peer(self, timeout: float) -> None:
        """Block until a peer has finished its CER/CEA (tests, and start-up logs)."""
        self.app.wait_for_ready(timeout)

    def _receive(self, app: Application, req: Any) -> None:
        """A request, on the node's own thread, which must never wait: it is read into a
        ``Charge`` and handed to the database's writer, which commits it with whatever
        other requests are waiting; its answer goes out from ``_answering`` once committed.
        A request that cannot be read is answered at once."""
        if not isinstance(req, CreditControlRequest):
            app.send_answer(app.generate_answer(
                req, C.E_RESULT_CODE_DIAMETER_COMMAND_UNSUPPORTED))
            return
        ans: CreditControlAnswer = app.generate_answer(req, C.E_RESULT_CODE_DIAMETER_SUCCESS)
        ans.cc_request_type = req.cc_request_type
        ans.cc_request_number = req.cc_request_number
        try:
            cmd = _command(req)
        except TopupError as exc:
            app.send_answer(_refused(ans, req, exc))
            return
        units = {a.rating_group: a.unit for a in cmd.asks}
        # ``writer.run`` on the server's own event loop: the writer thread of this process,
        # or the writer process of ``topup serve`` (TOPUP_WRITER_SOCKET), whose interpreter
        # then charges while this one speaks Diameter
        future = asyncio.run_coroutine_threadsafe(self.db.writer.run(cmd), self._loop)
        future.add_done_callback(lambda done: self._done.put((app, req, ans, units, done)))

    def _answering(self) -> None:
        """Send the answer of each committed request (the writer's thread only queues it)."""
        while (item := self._done.get()) is not None:
            app, req, ans, units, done = item
            try:
                failed = done.exception()
                if failed is None:
                    _fill(ans, done.result(), units)
                else:
                    ans = _refused(ans, req, failed)
                app.send_answer(ans)
            except Exception:  # the next answers still go out
                log.exception("CCR %s/%s not answered", req.session_id, req.cc_request_number)


async def _cancel_all() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)  # transports closed by them finish closing


def _command(req: Any) -> Charge:
    """The ``Charge`` a Credit-Control-Request asks for (InvalidChargingRequest, or
    LineNotFound for an opening request without a subscriber, when it cannot be read)."""
    kind = KINDS.get(req.cc_request_type)
    if kind is None:
        raise InvalidChargingRequest(f"CC-Request-Type {req.cc_request_type}")
    if kind == "event" and req.requested_action not in (
            None, C.E_REQUESTED_ACTION_DIRECT_DEBITING):
        raise InvalidChargingRequest("only direct debiting is answered")
    asks = [ask_of(m.rating_group, m.requested_service_unit, list(m.used_service_unit or []),
                   UNIT_FIELDS, wanted=kind != "terminate")
            for m in req.multiple_services_credit_control or []]
    opening = kind in ("initial", "event")
    return Charge(req.session_id, int(req.cc_request_number), kind, tuple(asks),
                  subscriber=_subscriber(req) if opening else None,
                  country=serving_country(_mcc_mnc(req)) if opening else None,
                  peer=_origin(req))


def _refused(ans: Any, req: Any, exc: BaseException) -> Any:
    if isinstance(exc, (DatabaseBusy, WriterClosed)):
        # a protocol error (E bit): the gateway tries again, here or at another server
        ans.result_code = C.E_RESULT_CODE_DIAMETER_TOO_BUSY
        ans.header.is_error = True
        log.warning("CCR %s/%s: %s", req.session_id, req.cc_request_number, exc)
    elif isinstance(exc, TopupError):
        ans.result_code = _refusal(exc)
        log.info("CCR %s/%s refused: %s", req.session_id, req.cc_request_number, exc)
    else:
        ans.result_code = C.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY
        log.error("CCR %s/%s failed", req.session_id, req.cc_request_number, exc_info=exc)
    return ans


class _Node(Node):
    """The Diameter node (node.py), refusing a known peer's CER from an address not its own
    (3010, as an unknown peer is refused) when its addresses are named."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addresses: dict[str, set[str]] = {}  # Origin-Host → addresses allowed

    def receive_cer(self, conn: Any, message: Any) -> None:
        host = message.origin_host.decode().lower()
        allowed = self.addresses.get(host)
        came = str(conn.ip[0] if isinstance(conn.ip, list) and conn.ip else conn.ip)
        if allowed and _address(came) not in allowed:
            log.warning("CER from %s at %s refused: it may connect from %s only", host, came,
                        ", ".join(sorted(allowed)))
            answer = self._generate_answer(conn, message)
            answer.result_code = C.E_RESULT_CODE_DIAMETER_UNKNOWN_PEER
            conn.state = PEER_CLOSING
            self.send_message(conn, answer)
            return
        super().receive_cer(conn, message)


def _address(text: str) -> str:
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return text
    mapped = getattr(found, "ipv4_mapped", None)  # ::ffff:10.0.0.7 is 10.0.0.7
    return str(mapped or found)


class _CreditControl(Application):
    """Credit-Control (application 4): each request goes to ``receive``, which answers it
    later (``Application.send_answer``) rather than holding a thread while it is charged."""

    def __init__(self, receive: Callable[[Application, Any], None]) -> None:
        super().__init__(C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True)
        self._receive = receive

    def handle_request(self, message: Any) -> None:
        try:
            self._receive(self, message)
        except Exception:  # never into the node's own loop
            log.exception("Diameter request not handled")


def _subscriber(req: Any) -> str:
    ids = {s.subscription_id_type: s.subscription_id_data for s in req.subscription_id or []}
    for kind in (C.E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI, C.E_SUBSCRIPTION_ID_TYPE_END_USER_E164):
        if ids.get(kind):
            return str(ids[kind])
    raise LineNotFound()


def _origin(req: Any) -> tuple[str, str] | None:
    host, realm = req.origin_host, req.origin_realm
    if not host or not realm:
        return None
    as_text = [v.decode() if isinstance(v, bytes) else str(v) for v in (host, realm)]
    return as_text[0], as_text[1]


def _mcc_mnc(req: Any) -> str | None:
    info = req.service_information
    ps = info.ps_information if info else None
    return str(ps.tgpp_sgsn_mcc_mnc) if ps and ps.tgpp_sgsn_mcc_mnc else None


def _refusal(exc: TopupError) -> int:
    for kind, code in REFUSALS:
        if isinstance(exc, kind):
            return code
    return C.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY


def _fill(ans: Any, answer: Answer, units: dict[int, str]) -> None:
    ans.result_code = RESULTS[answer.result]
    for g in answer.grants:
        field = next(f for f, u in UNIT_FIELDS.items() if u == units[g.rating_group])
        ans.add_multiple_services_credit_control(
            rating_group=g.rating_group, result_code=RESULTS[g.result],
            granted_service_unit=GrantedServiceUnit(**{field: g.granted}) if g.granted
            else None,
            validity_time=g.validity_seconds if g.granted and g.validity_seconds else None,
            final_unit_indication=FinalUnitIndication(
                final_unit_action=C.E_FINAL_UNIT_ACTION_TERMINATE)
            if g.final and g.granted else None)
