"""The writer process (db/remote.py): API processes hand it their commands over a Unix socket
and get the same answers a writer thread would give; frames survive any cut of the stream;
refusals keep their type and attributes; an unreachable writer process means writing here;
a broken link answers 503; a killed writer process is started again; an orphaned one stops."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from tests.factories import make_line, make_user
from topup.channels.api.admin import _order_body
from topup.charging.charges import Charge
from topup.charging.errors import ChargingSessionNotFound
from topup.charging.sessions import Answer, Ask
from topup.db import remote
from topup.db.group import WriterClosed
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.orders.idempotency import Outcome, request_hash
from topup.orders.model import OrderRequest
from topup.orders.topups import TopUp
from topup.subscribers.errors import LineNotFound

WAIT = 30.0


def credit(staff: int, line_id: int, key: str, amount: int) -> TopUp:
    path = f"/api/v1/admin/lines/{line_id}/credit"
    body = {"amount": amount, "currency": "CNY", "reason": "cash", "confirm_duplicate": True}
    req = OrderRequest(kind="topup", method="manual", channel="admin", currency="CNY",
                       amount=amount, reason="cash", confirm_duplicate=True)
    return TopUp(staff, key, path, request_hash("POST", path, body), staff, line_id, req,
                 _order_body)


def env_for(db: Database) -> dict[str, str]:
    return os.environ | {
        "TOPUP_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "TOPUP_DATA_DIR": str(db.settings.data_dir), "TOPUP_SECRET_KEY": "test-secret-key",
        "TOPUP_EMBEDDED_WORKER": "0"}


@pytest.fixture
def process(db: Database) -> Iterator[remote.WriterProcess]:
    with remote.WriterProcess(env_for(db)) as proc:
        yield proc


def api_side(db: Database, socket: str) -> Database:
    """What an API worker of ``topup serve`` holds: the same database, the socket set."""
    return Database(db.engine, replace(db.settings, writer_socket=socket), db.clock)


def wallet(db: Database, line_id: int) -> int:
    with db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, line_id)
    return found["CNY"].posted if "CNY" in found else 0


async def gather(writer: Any, commands: list[Any]) -> list[Any]:
    return await asyncio.wait_for(asyncio.gather(
        *(writer.run(c) for c in commands), return_exceptions=True), WAIT)


def test_frames_cut_anywhere_give_back_the_same_objects() -> None:
    sent = [(1, {"a": [1, 2, 3]}), (2, "x" * 70_000), (3, None)]
    stream = b"".join(remote.frame(s) for s in sent)
    for step in (1, 7, 4096, len(stream)):
        frames = remote.Frames()
        got = [obj for i in range(0, len(stream), step) for obj in frames.feed(stream[i:i + step])]
        assert got == sent


def test_a_frame_claiming_too_much_is_refused() -> None:
    with pytest.raises(ConnectionError):
        remote.Frames().feed(remote.HEAD.pack(remote.MAX_FRAME + 1))


def test_a_refusal_travels_with_its_type_and_attributes() -> None:
    ok, sent = remote.portable(InvalidInput("amount too large", field="amount"))
    assert not ok
    back = remote.rebuilt(pickle.loads(pickle.dumps(sent)))  # noqa: S301 - our own bytes
    assert isinstance(back, InvalidInput)
    assert (back.detail, back.extra, str(back)) == ("amount too large", {"field": "amount"},
                                                    "amount too large")
    odd = ValueError("no")
    odd.lock = __import__("threading").Lock()  # type: ignore[attr-defined]
    ok, sent = remote.portable(odd)
    back = remote.rebuilt(sent)
    assert not ok and isinstance(back, RuntimeError) and "ValueError: no" in str(back)
    assert remote.portable(Outcome(201, {"id": 1}, False)) == (True, Outcome(201, {"id": 1},
                                                                             False))


def test_the_writer_process_commits_what_api_processes_send(
        db: Database, process: remote.WriterProcess) -> None:
    staff = make_user(db, role="admin").id
    line = make_line(db)
    api = api_side(db, process.socket)
    try:
        first = [credit(staff, line.id, f"k{n}", 10_00 + n) for n in range(40)]
        answers = asyncio.run(gather(api.writer, [*first, credit(staff, 999_999, "gone", 5_00)]))
        assert all(isinstance(a, Outcome) and a.status == 201 for a in answers[:40]), answers
        assert isinstance(answers[40], LineNotFound) and answers[40].status == 404
        assert wallet(db, line.id) == sum(10_00 + n for n in range(40))
        report = asyncio.run(api.writer.report())
        assert (report["writer"], report["pid"]) == ("process", process.pid)
        assert report["commands"] == 41 and 1 <= report["batches"] <= 41
        assert sum(report["sizes"].values()) == report["batches"] and report["queued"] == 0
        again = asyncio.run(gather(api.writer, [first[3]]))[0]
        assert again.replayed and again.body == answers[3].body
        # the line is active now: a credit takes the batch's own path, which encodes the
        # answer once, as the API's JSON responses encode it
        more = asyncio.run(gather(api.writer, [credit(staff, line.id, "more", 3_00)]))[0]
        assert more.status == 201 and more.encoded == JSONResponse(more.body).body
        assert api._group is None, "nothing was written in the API process itself"
    finally:
        api.close()


def test_charging_requests_travel_to_the_writer_process(
        db: Database, process: remote.WriterProcess) -> None:
    line = make_line(db)
    with db.unit() as uow:
        seed_catalog(uow)  # out-of-bundle rates
        ledger.transfer(uow, "seed:charging", ledger.operator_account(
            uow, "manual_credit", "money:CNY", line_id=line.id),
            ledger.wallet(uow, line.id, "CNY"), 10_00, code="topup")
    api = api_side(db, process.socket)
    try:
        opened, lost = asyncio.run(gather(api.writer, [
            Charge("gw;remote", 0, "initial", (Ask(1, "sms", requested=2),),
                   subscriber=line.iccid, country="TH"),
            Charge("gw;nobody", 1, "update", (Ask(1, "sms", used=1),))]))
        assert isinstance(opened, Answer) and opened.grants[0].granted == 2, opened
        assert isinstance(lost, ChargingSessionNotFound) and lost.status == 404
        assert api._group is None, "nothing was written in the API process itself"
    finally:
        api.close()


def test_without_a_writer_process_the_api_process_writes_itself(db: Database,
                                                                 tmp_path: Path) -> None:
    staff = make_user(db, role="admin").id
    line = make_line(db)
    api = api_side(db, str(tmp_path / "nobody.sock"))
    try:
        answers = asyncio.run(gather(api.writer, [credit(staff, line.id, "here", 12_00)]))
        assert answers[0].status == 201
        assert api._group is not None
        report = asyncio.run(api.writer.report())
        assert report["writer"] == "thread" and "unreachable" in report["note"]
        assert (report["batches"], report["commands"], report["sizes"][1]) == (1, 1, 1)
        assert wallet(db, line.id) == 12_00
    finally:
        api.close()


def test_a_link_that_breaks_answers_what_was_in_flight_with_503(tmp_path: Path) -> None:
    path = str(tmp_path / "w.sock")

    async def scenario() -> Any:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)  # the first bytes of a command, then the line drops
            writer.close()

        server = await asyncio.start_unix_server(hang_up, path)
        async with server:
            writer = remote.RemoteWriter(path, local=lambda: pytest.fail("wrote locally"))
            return await asyncio.wait_for(asyncio.gather(
                writer.run("a command"), writer.run("another"), return_exceptions=True), WAIT)

    answers = asyncio.run(scenario())
    assert all(isinstance(a, WriterClosed) and a.status == 503 for a in answers), answers


def test_a_killed_writer_process_is_started_again(db: Database,
                                                  process: remote.WriterProcess) -> None:
    staff = make_user(db, role="admin").id
    line = make_line(db)
    first = process.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + WAIT
    while process.pid == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.pid != first, "no new writer process"
    process.wait_ready()
    api = api_side(db, process.socket)
    try:
        answers = asyncio.run(gather(api.writer, [credit(staff, line.id, "after", 7_00)]))
        assert answers[0].status == 201 and api._group is None
    finally:
        api.close()


def test_a_writer_process_whose_server_is_gone_stops(db: Database, tmp_path: Path) -> None:
    socket = str(tmp_path / "w.sock")
    parent = subprocess.Popen(  # starts a writer process, says its pid, then waits
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         f"p = subprocess.Popen([sys.executable, '-m', 'topup.db.remote', {socket!r}])\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(60)\n"], env=env_for(db), stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + WAIT
        while not os.path.exists(socket) and time.monotonic() < deadline:
            time.sleep(0.05)
        parent.kill()
        parent.wait()
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child), "the orphaned writer process is still running"
        assert not os.path.exists(socket)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # an exited child of an exited parent is reaped by init; a zombie counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_socket_directories_left_by_killed_servers_are_swept_and_live_ones_kept(
        process: remote.WriterProcess) -> None:
    left = tempfile.mkdtemp(prefix=remote.DIR_PREFIX)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(os.path.join(left, remote.SOCKET_NAME))  # a socket file nobody listens on
    dead.close()
    young = tempfile.mkdtemp(prefix=remote.DIR_PREFIX)  # a server that is starting up
    long_ago = time.time() - 2 * remote.STALE_SECONDS
    for folder in (left, process.dir):
        os.utime(folder, (long_ago, long_ago))
    try:
        assert left in remote.sweep_stale()
        assert not os.path.exists(left)
        assert os.path.exists(process.socket), "a directory whose writer answers stays"
        assert os.path.exists(young), "a directory younger than a minute stays"
    finally:
        os.rmdir(young)
