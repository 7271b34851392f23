"""Online charging end to end through a Diameter relay: a packet gateway (python-diameter)
→ Debian's freeDiameter (``freeDiameterd`` with the DCCA dictionaries, relaying) →
``topup diameter`` (a process of its own, on the test database).

CCR-I, two CCR-U and CCR-T travel through the relay: every CCA echoes Session-Id,
CC-Request-Type and CC-Request-Number and carries a Result-Code in every MSCC, and the
line's plan bucket and wallet end exactly at the Used-Service-Units (the plan's units first,
then money at the out-of-bundle rate). A second session that never sends CCR-T is released
by the sweep. A line whose money runs out gets a final quota, then 4012; after a top-up,
topup's Re-Auth-Request reaches the gateway through the relay and the next CCR-U is granted.
Everything listens on 127.0.0.1 and stops by itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from diameter.message import constants as C
from diameter.message.avp.grouped import RequestedServiceUnit, UsedServiceUnit
from sqlalchemy import select

from tests.factories import fund, make_line
from tests.gy_support import OCS, OCS_REALM, PGW, PGW_REALM, TYPES, Gateway, free_port
from topup.catalog import service as catalog
from topup.charging.buckets import issue_bucket
from topup.charging.sessions import release_silent
from topup.charging.tables import bucket_units
from topup.db.uow import Database
from topup.ledger import service as ledger

MIB = 1024**2
RELAY, RELAY_REALM = "dra.relay.test", "relay.test"
FREEDIAMETERD = shutil.which("freeDiameterd") or "/usr/bin/freeDiameterd"
TOPUP = str(Path(sys.executable).parent / "topup")

pytestmark = pytest.mark.skipif(not os.path.exists(FREEDIAMETERD),
                                reason="freeDiameterd is installed by scripts/test")


def wait_port(port: int, proc: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.communicate()[1]!r}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port}")


def relay_conf(path: Path, port: int, ocs_port: int) -> Path:
    acl = path / "acl_wl.conf"
    acl.write_text(f"ALLOW_IPSEC {PGW}\n")  # the gateway connects without TLS
    conf = path / "freeDiameter.conf"
    conf.write_text(f'''Identity = "{RELAY}";
Realm = "{RELAY_REALM}";
Port = {port};
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TcTimer = 2;
LoadExtension = "dict_nasreq.fdx";
LoadExtension = "dict_dcca.fdx";
LoadExtension = "dict_dcca_3gpp.fdx";
LoadExtension = "acl_wl.fdx" : "{acl}";
ConnectPeer = "{OCS}" {{ ConnectTo = "127.0.0.1"; Port = {ocs_port}; No_TLS; No_SCTP; }};
''')
    return conf


@pytest.fixture
def relayed(catalogue: Database, tmp_path: Path) -> Iterator[Gateway]:
    ocs_port, relay_port = free_port(), free_port()
    env = os.environ | {
        "TOPUP_DATABASE_URL": catalogue.engine.url.render_as_string(hide_password=False),
        "TOPUP_DATA_DIR": str(catalogue.settings.data_dir), "TOPUP_EMBEDDED_WORKER": "0"}
    ocs = subprocess.Popen(
        [TOPUP, "diameter", "--port", str(ocs_port), "--identity", OCS, "--realm", OCS_REALM,
         "--peer", f"{RELAY}@{RELAY_REALM}", "--gateway-realm", PGW_REALM, "--no-migrate"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    relay = None
    try:
        wait_port(ocs_port, ocs, "topup diameter")
        relay = subprocess.Popen([FREEDIAMETERD, "-c", str(relay_conf(tmp_path, relay_port,
                                                                      ocs_port))],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_port(relay_port, relay, "freeDiameterd")
        gateway = Gateway(relay_port, RELAY, RELAY_REALM)
        try:
            yield gateway
        finally:
            gateway.stop()
    finally:
        for proc in (relay, ocs):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def first_answer(gateway: Gateway, *args: Any, **kwargs: Any) -> Any:
    """The first CCR of a run, sent again (same number: answered the same) until the relay
    has its connection to topup (until then it answers 3002, unable to deliver)."""
    deadline = time.monotonic() + 20
    while True:
        cca = gateway.ccr(*args, **kwargs)
        if cca.result_code != C.E_RESULT_CODE_DIAMETER_UNABLE_TO_DELIVER or \
                time.monotonic() > deadline:
            return cca
        time.sleep(0.3)


def held(db: Database, line_id: int, bucket_id: int) -> tuple[int, int, int, int]:
    """(bucket posted, bucket held, wallet posted, wallet held)."""
    with db.unit(readonly=True) as uow:
        account = uow.conn.execute(select(bucket_units.c.account_id).where(
            bucket_units.c.bucket_id == bucket_id)).scalar_one()
        b = ledger.balance(uow, account)
        w = ledger.balance(uow, ledger.wallet(uow, line_id, "CNY"))
    return b.posted, b.pending_debits, w.posted, w.pending_debits


def mscc_of(cca: Any) -> list[tuple[Any, ...]]:
    return [(m.rating_group, m.result_code,
             m.granted_service_unit.cc_total_octets if m.granted_service_unit else None)
            for m in cca.multiple_services_credit_control]


def test_ccr_i_u_t_through_freediameter_end_at_the_used_units(relayed: Gateway,
                                                             catalogue: Database) -> None:
    line = make_line(catalogue, imsi="520011234500001")
    fund(catalogue, line, 20_00, f"seed:{line.id}")
    with catalogue.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "JP-8D-15GB")  # starts with its first use
        bucket_id, _ = issue_bucket(uow, line.id, plan, 920_001)
    total = held(catalogue, line.id, bucket_id)[0]
    sid = f"{PGW};relay;1"
    ask = {"rating_group": 100, "requested_service_unit": RequestedServiceUnit()}

    cca = first_answer(relayed, sid, "I", 0, [ask], imsi="520011234500001", mcc_mnc="44010")
    assert (cca.session_id, cca.cc_request_type, cca.cc_request_number, cca.result_code) == (
        sid, TYPES["I"], 0, 2001)
    assert mscc_of(cca) == [(100, 2001, 10 * MIB)]
    used = [8 * MIB, 10 * MIB]
    for number, spent in enumerate(used, start=1):
        cca = relayed.ccr(sid, "U", number, [ask | {"used_service_unit":
                                                   UsedServiceUnit(cc_total_octets=spent)}])
        assert (cca.session_id, cca.cc_request_type, cca.cc_request_number) == (
            sid, TYPES["U"], number)
        assert [m[:2] for m in mscc_of(cca)] == [(100, 2001)]
    cca = relayed.ccr(sid, "T", 3, [{"rating_group": 100, "used_service_unit":
                                     UsedServiceUnit(cc_total_octets=MIB)}])
    assert (cca.cc_request_type, cca.cc_request_number, cca.result_code) == (
        TYPES["T"], 3, 2001)
    assert [m[:2] for m in mscc_of(cca)] == [(100, 2001)]
    committed = sum(used) + MIB  # the plan's units, the wallet untouched
    assert held(catalogue, line.id, bucket_id) == (total - committed, 0, 20_00, 0)

    other = f"{PGW};relay;2"  # a session the gateway never ends
    cca = relayed.ccr(other, "I", 0, [ask], imsi="520011234500001", mcc_mnc="44010")
    assert mscc_of(cca) == [(100, 2001, 10 * MIB)]
    assert held(catalogue, line.id, bucket_id)[1] == 10 * MIB
    # ``topup diameter`` runs on the real clock, this test's database on a frozen one
    ahead = (datetime.now(UTC) - catalogue.clock()).total_seconds() + 3600
    catalogue.clock.advance(seconds=ahead)  # type: ignore[attr-defined]
    with catalogue.unit() as uow:
        assert release_silent(uow) == 1
    assert held(catalogue, line.id, bucket_id) == (total - committed, 0, 20_00, 0)


def test_a_top_up_reauthorizes_through_the_relay(relayed: Gateway, catalogue: Database
                                                 ) -> None:
    line = make_line(catalogue, imsi="520011234500002")
    fund(catalogue, line, 1_00, f"seed:{line.id}")
    sid = f"{PGW};relay;3"
    more = {"rating_group": 7, "requested_service_unit": RequestedServiceUnit()}
    cca = first_answer(relayed, sid, "I", 0, [more], imsi="520011234500002")
    [(_, code, granted)] = mscc_of(cca)
    assert (code, granted) == (2001, 2 * MIB)
    assert cca.multiple_services_credit_control[0].final_unit_indication.final_unit_action \
        == C.E_FINAL_UNIT_ACTION_TERMINATE
    cca = relayed.ccr(sid, "U", 1, [more | {"used_service_unit":
                                            UsedServiceUnit(cc_total_octets=2 * MIB)}])
    assert cca.result_code == C.E_RESULT_CODE_DIAMETER_CREDIT_LIMIT_REACHED
    fund(catalogue, line, 3_00, f"seed:{line.id}:again")
    assert relayed.wait_reauth(sid, timeout=15), "the RAR came through the relay"
    cca = relayed.ccr(sid, "U", 2, [more])
    assert mscc_of(cca) == [(7, 2001, 6 * MIB)]
    relayed.ccr(sid, "T", 3, [{"rating_group": 7, "used_service_unit":
                               UsedServiceUnit(cc_total_octets=MIB)}])
    with catalogue.unit(readonly=True) as uow:
        w = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
    assert (w.posted, w.pending_debits) == (2_50, 0), "1 MiB of the new 6 MiB used"
