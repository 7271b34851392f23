"""Diameter Gy (channels/gy/server.py) on the loopback, driven by a packet gateway built on a
real Diameter stack (python-diameter): CER/CEA, then CCR-I, CCR-U (and its retransmission),
CCR-T; the answers echo the session and request, carry a Result-Code in every MSCC, and the
wallet ends at exactly the price of the Used-Service-Units. A balance running short gets a
Final-Unit-Indication, then 4012; an unknown subscriber 5030; an unknown session 5002."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from diameter.message import constants as C
from diameter.message.avp.grouped import RequestedServiceUnit, UsedServiceUnit
from diameter.node._helpers import StoppableThread
from diameter.node.peer import DISCONNECT_REASON_DPR

from tests.factories import fund, make_line
from tests.gy_support import OCS, OCS_REALM, PGW, PGW_REALM, TYPES, Gateway, free_port
from topup.channels.gy import gateway
from topup.channels.gy.server import GyServer, Peer, serving_country
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc

MIB = 1024**2


@pytest.fixture
def ocs(catalogue: Database) -> Iterator[GyServer]:
    """topup's Gy server, looking for starved sessions every 0.1 s (not every second)."""
    server = GyServer(catalogue, identity=OCS, realm=OCS_REALM, host="127.0.0.1",
                      port=free_port(), peers=[Peer(PGW, PGW_REALM)], reauth_seconds=0.1)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gy(ocs: GyServer) -> Iterator[Gateway]:
    gateway = Gateway(ocs.node.tcp_port)
    try:
        yield gateway
    finally:
        gateway.stop()


def funded(db: Database, imsi: str, amount: int) -> line_svc.Line:
    line = make_line(db, imsi=imsi)
    fund(db, line, amount, f"seed:{line.id}")
    return line


def wallet(db: Database, line: line_svc.Line) -> tuple[int, int]:
    with db.unit(readonly=True) as uow:
        b = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
    return b.posted, b.pending_debits


def mscc_of(cca: Any) -> list[tuple[Any, ...]]:
    return [(m.rating_group, m.result_code,
             m.granted_service_unit.cc_total_octets if m.granted_service_unit else None,
             m.validity_time,
             m.final_unit_indication.final_unit_action if m.final_unit_indication else None)
            for m in cca.multiple_services_credit_control]


def test_a_gateway_charges_a_data_session(gy: Gateway, catalogue: Database) -> None:
    line = funded(catalogue, "460001234500001", 10_00)
    sid = "pgw.gateway.test;1;1"
    cca = gy.ccr(sid, "I", 0, [{"rating_group": 10, "requested_service_unit":
                                RequestedServiceUnit(cc_total_octets=4 * MIB)}],
                 imsi="460001234500001")
    assert (cca.session_id, cca.cc_request_type, cca.cc_request_number, cca.result_code) == (
        sid, TYPES["I"], 0, 2001)
    assert mscc_of(cca) == [(10, 2001, 4 * MIB, 600, None)]
    assert wallet(catalogue, line) == (10_00, 2_00), "held at Thailand's rate (MCC 520)"

    update = [{"rating_group": 10, "requested_service_unit": RequestedServiceUnit(),
               "used_service_unit": UsedServiceUnit(cc_total_octets=3 * MIB)}]
    cca = gy.ccr(sid, "U", 1, update)
    assert (cca.result_code, cca.cc_request_number) == (2001, 1)
    assert mscc_of(cca) == [(10, 2001, 10 * MIB, 600, None)]
    assert wallet(catalogue, line) == (8_50, 5_00)
    again = gy.ccr(sid, "U", 1, update)
    assert mscc_of(again) == mscc_of(cca) and wallet(catalogue, line) == (8_50, 5_00)

    cca = gy.ccr(sid, "T", 2, [{"rating_group": 10, "used_service_unit":
                                UsedServiceUnit(cc_total_octets=MIB)}])
    assert (cca.result_code, cca.cc_request_type) == (2001, TYPES["T"])
    assert [m[:2] for m in mscc_of(cca)] == [(10, 2001)], "a Result-Code in every MSCC"
    assert wallet(catalogue, line) == (8_00, 0)


def test_short_balance_top_up_reauthorization_and_unknown_ones(
        gy: Gateway, ocs: GyServer, catalogue: Database) -> None:
    line = funded(catalogue, "460001234500002", 1_00)
    sid = "pgw.gateway.test;1;2"
    cca = gy.ccr(sid, "I", 0, [{"rating_group": 1, "requested_service_unit":
                                RequestedServiceUnit(cc_total_octets=8 * MIB)}],
                 imsi="460001234500002")
    assert mscc_of(cca) == [(1, 2001, 2 * MIB, 600, C.E_FINAL_UNIT_ACTION_TERMINATE)]
    cca = gy.ccr(sid, "U", 1, [{"rating_group": 1,
                                "requested_service_unit": RequestedServiceUnit(),
                                "used_service_unit": UsedServiceUnit(cc_total_octets=2 * MIB)}])
    assert cca.result_code == C.E_RESULT_CODE_DIAMETER_CREDIT_LIMIT_REACHED
    assert mscc_of(cca) == [(1, C.E_RESULT_CODE_DIAMETER_CREDIT_LIMIT_REACHED, None, None,
                             None)]
    assert wallet(catalogue, line) == (0, 0)
    assert gy.reauths == [], "nothing to grant: no re-authorization"
    fund(catalogue, line, 5_00, "seed:later")
    assert gy.wait_reauth(sid), "a Re-Auth-Request after the top-up"
    cca = gy.ccr(sid, "U", 2, [{"rating_group": 1,
                                "requested_service_unit": RequestedServiceUnit()}])
    assert mscc_of(cca) == [(1, 2001, 10 * MIB, 600, None)]
    rounds, deadline = ocs.rounds, time.monotonic() + 10
    while ocs.rounds < rounds + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ocs.rounds >= rounds + 2, "two more rounds of looking for starved sessions"
    assert gy.reauths == [sid], "once per shortage"

    stranger = gy.ccr("pgw.gateway.test;1;3", "I", 0, [{"rating_group": 1}],
                      imsi="460009999999999")
    assert stranger.result_code == C.E_RESULT_CODE_DIAMETER_USER_UNKNOWN
    lost = gy.ccr("pgw.gateway.test;1;4", "U", 1, [{"rating_group": 1}])
    assert lost.result_code == C.E_RESULT_CODE_DIAMETER_UNKNOWN_SESSION_ID


def test_an_event_request_debits_an_sms(gy: Gateway, catalogue: Database) -> None:
    line = funded(catalogue, "460001234500003", 1_00)
    sms = [{"rating_group": 3, "requested_service_unit":
            RequestedServiceUnit(cc_service_specific_units=1)}]
    cca = gy.ccr("smsc.gateway.test;1", "E", 0, sms, imsi="460001234500003")
    assert (cca.result_code, cca.cc_request_type) == (2001, TYPES["E"])
    [m] = cca.multiple_services_credit_control
    assert (m.result_code, m.granted_service_unit.cc_service_specific_units) == (2001, 1)
    assert wallet(catalogue, line) == (50, 0)


def test_the_serving_network_names_the_country() -> None:
    assert [serving_country(x) for x in ("52001", "46000", "310260", "23415", "00101", "",
                                         None, "abc")] == [
        "TH", "CN", "US", "GB", None, None, None, None]


def test_a_peer_named_with_an_address_may_connect_from_it_only(db: Database) -> None:
    """``identity@realm/address``: the gateway's CER from any other address is refused as
    an unknown peer's would be (3010), so no connection comes up, and the gateway knows it
    from the CEA, without waiting out its time."""
    assert Peer.parse("PGW.Gateway.test@gateway.test/10.0.0.7") == Peer(
        "pgw.gateway.test", "gateway.test", "10.0.0.7")
    for bad in ("pgw@gateway/not-an-address", "pgw/10.0.0.7", "@gateway"):
        with pytest.raises(ValueError):
            Peer.parse(bad)
    for address, comes_up in (("127.0.0.2", False), ("127.0.0.1", True)):
        port = free_port()
        server = GyServer(db, identity=OCS, realm=OCS_REALM, host="127.0.0.1", port=port,
                          peers=[Peer(PGW, PGW_REALM, address)])
        server.start()
        try:
            if comes_up:
                Gateway(port).stop()
            else:
                with pytest.raises(gateway.Refused) as refused:
                    gateway.Gateway(identity=PGW, realm=PGW_REALM, peer=OCS,
                                    peer_realm=OCS_REALM, port=port, ready_seconds=10)
                assert refused.value.result_code == C.E_RESULT_CODE_DIAMETER_UNKNOWN_PEER
        finally:
            server.stop()


def test_a_stopping_gateway_says_goodbye_and_no_thread_lingers(db: Database) -> None:
    """Stopping, the gateway sends a Disconnect-Peer-Request and the server answers it (DPA)
    before the connection closes; then every thread of both Diameter stacks ends at once,
    not seconds later on its own timer, so a process that stops its node exits at once."""
    port = free_port()
    before = set(threading.enumerate())
    server = GyServer(db, identity=OCS, realm=OCS_REALM, host="127.0.0.1", port=port,
                      peers=[Peer(PGW, PGW_REALM)])
    server.start()
    try:
        pgw = Gateway(port)
        pgw.stop()
        assert pgw.node.peers[OCS].counters.dpa == 1, "the server answered the gateway's DPR"
        seen = server.node.peers[PGW]
        assert (seen.counters.dpr, seen.disconnect_reason) == (1, DISCONNECT_REASON_DPR)
    finally:
        server.stop()
    stack = [t for t in threading.enumerate()
             if t not in before and isinstance(t, StoppableThread)]
    deadline = time.monotonic() + 2  # python-diameter's own timers: 2 to 5 s
    for t in stack:
        t.join(max(0.0, deadline - time.monotonic()))
    assert [t for t in stack if t.is_alive()] == []
