"""The writer in a process of its own, fed by the API processes over a Unix socket.

In one process, the event loop (HTTP, JSON, validation) and the writer's thread share one
interpreter lock: under load the writer waits for the loop and the loop for the writer, and one
process tops out near one core. ``topup serve`` therefore starts the writer as a process of its
own (``python -m topup.db.remote SOCKET``, supervised by ``WriterProcess``) and sets
``TOPUP_WRITER_SOCKET`` for its API workers; their ``Database.writer`` is then a
``RemoteWriter``, which sends each command to that process and awaits its answer. Every API
worker's commands land in the same batches: on PostgreSQL no two writers queue on each other's
rows, on SQLite no two processes poll for the write lock.

The wire: frames of a 4-byte big-endian length and a pickle, ``(id, command)`` one way and
``(id, ok, result)`` the other; a refusal travels as its class, ``args`` and attributes. The
socket lives in a directory only the server's user can enter, and only that user can connect:
whoever can is already able to do anything the server can.

Failure modes (tests/unit/db/test_remote.py):
- the writer process is not reachable: commands go to a writer thread in the API process
  itself (``Database.local_writer``) and a reconnection is tried again after a second — slower,
  never wrong, as every command is idempotent;
- the link breaks with commands in flight: those are answered 503 (``WriterClosed``); whether
  they were committed is unknown to the API, and the client's retry with the same key finds out;
- the writer process dies: ``WriterProcess`` starts a new one (after a pause that doubles up to
  ``MAX_PAUSE``), meanwhile the API processes write themselves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from topup.db.group import GroupWriter, WriterClosed

if TYPE_CHECKING:
    from topup.db.uow import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
HEAD = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
RETRY_SECONDS = 1.0  # an unreachable writer process is tried again after this long
STATUS = "status"  # a frame's command asking the writer process for its GroupWriter.status
SOCKET_NAME = "writer.sock"
DIR_PREFIX = "topup-writer-"
STALE_SECONDS = 60.0  # a socket directory this old that nobody answers on is left over


# --- the wire ------------------------------------------------------------------------------

def frame(payload: Any) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEAD.pack(len(data)) + data


class Frames:
    """Cuts a byte stream into the objects its frames hold."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        out, pos, buf = [], 0, self._buf
        while len(buf) - pos >= HEAD.size:
            (size,) = HEAD.unpack_from(buf, pos)
            if size > MAX_FRAME:
                raise ConnectionError(f"a frame of {size} bytes")
            end = pos + HEAD.size + size
            if end > len(buf):
                break
            # only this user can connect (see the module's docstring)
            out.append(pickle.loads(memoryview(buf)[pos + HEAD.size:end]))  # noqa: S301
            pos = end
        del buf[:pos]
        return out


def portable(outcome: Any) -> tuple[bool, Any]:
    """(ok, what to send): a result as it is, an exception as its class, args and attributes
    (a refusal's own ``__init__`` need not accept its ``args`` again)."""
    if not isinstance(outcome, BaseException):
        return True, outcome
    state = dict(getattr(outcome, "__dict__", {}))
    try:
        pickle.dumps((type(outcome), outcome.args, state))
    except Exception:
        return False, (RuntimeError, (f"{type(outcome).__name__}: {outcome}",), {})
    return False, (type(outcome), outcome.args, state)


def rebuilt(sent: tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]) -> BaseException:
    cls, args, state = sent
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


# --- the API side --------------------------------------------------------------------------

class _Link:
    """One event loop's connection to the writer process, with its calls in flight."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.out: list[bytes] = []
        self.next_id = 0
        self.alive = True
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def call(self, command: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        data = frame((ident, command))
        self.waiting[ident] = future
        if not self.out:  # one write for all the commands of this turn of the loop
            loop.call_soon(self._flush)
        self.out.append(data)
        try:
            return await future
        finally:
            self.waiting.pop(ident, None)

    def _flush(self) -> None:
        data, self.out = b"".join(self.out), []
        if self.alive:
            self.writer.write(data)

    async def _read(self) -> None:
        frames = Frames()
        try:
            while data := await self.reader.read(256 * 1024):
                for ident, ok, result in frames.feed(data):
                    future = self.waiting.pop(ident, None)
                    if future is None or future.done():
                        continue  # its caller went away
                    if ok:
                        future.set_result(result)
                    else:
                        future.set_exception(rebuilt(result))
        except (OSError, ConnectionError, pickle.UnpicklingError, EOFError) as exc:
            log.warning("link to the writer process failed: %s", exc)
        finally:
            self.close()

    def close(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.writer.close()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(WriterClosed(
                    "the writer process went away; whether this was written is unknown: "
                    "retry with the same Idempotency-Key"))
        self.waiting.clear()
        if self.task is not asyncio.current_task():
            self.task.cancel()


class RemoteWriter:
    """``GroupWriter``'s interface, served by the writer process at ``path``.

    ``run`` (async callers: the API) goes over the socket; ``submit`` and ``call`` (threads,
    functions of a unit of work that cannot travel) use the process's own writer thread."""

    def __init__(self, path: str, local: Callable[[], GroupWriter]) -> None:
        self.path = path
        self._local = local
        self._links: dict[asyncio.AbstractEventLoop, _Link] = {}
        self._opening: dict[asyncio.AbstractEventLoop, asyncio.Task[_Link | None]] = {}
        self._down_until = 0.0

    async def run(self, command: Any) -> Any:
        link = await self._link()
        if link is None:
            return await self._local().run(command)
        return await link.call(command)

    def submit(self, command: Any) -> Any:
        return self._local().submit(command)

    def call(self, work: Callable[[UnitOfWork], T]) -> T:
        return self._local().call(work)

    async def report(self) -> dict[str, Any]:
        """The writer process's status (``GroupWriter.status``, with its pid); while it is
        unreachable, this process's own writer's, saying so."""
        link = await self._link()
        if link is None:
            return self._local().status() | {"writer": "thread",
                                              "note": "the writer process is unreachable"}
        found: dict[str, Any] = await link.call(STATUS)
        return found

    async def _link(self) -> _Link | None:
        """This event loop's link, opened by the first caller while the others wait for it;
        None while the writer process is unreachable."""
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is not None and link.alive:
            return link
        opening = self._opening.get(loop)
        if opening is None:
            if time.monotonic() < self._down_until:
                return None
            opening = self._opening[loop] = loop.create_task(self._open(loop))
        return await asyncio.shield(opening)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Link | None:
        try:
            reader, writer = await asyncio.open_unix_connection(self.path)
        except OSError as exc:
            self._down_until = time.monotonic() + RETRY_SECONDS
            log.warning("writer process not reachable at %s (%s): writing here", self.path, exc)
            return None
        finally:
            self._opening.pop(loop, None)
        for old in [lp for lp in self._links if lp.is_closed()]:
            del self._links[old]
        link = self._links[loop] = _Link(reader, writer)
        return link

    def close(self, timeout: float = 30.0) -> None:
        for loop, link in list(self._links.items()):
            if not loop.is_closed():
                with suppress(RuntimeError):  # closed meanwhile: nothing to close there
                    loop.call_soon_threadsafe(link.close)
        self._links.clear()


# --- the writer process --------------------------------------------------------------------

class _Back:
    """Where one command's answer goes: its link, under its id. ``loop`` lets the writer hand a
    whole batch's answers over in one call (``group._settle``)."""

    __slots__ = ("conn", "ident", "loop")

    def __init__(self, conn: _Served, ident: int) -> None:
        self.conn, self.ident, self.loop = conn, ident, conn.loop

    def deliver(self, outcome: Any) -> None:
        self.conn.answer(self.ident, outcome)


class _Served(asyncio.Protocol):
    """One API process's connection, as the writer process sees it."""

    def __init__(self, group: GroupWriter, loop: asyncio.AbstractEventLoop) -> None:
        self.group, self.loop = group, loop
        self.frames = Frames()
        self.out: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            items = self.frames.feed(data)
        except Exception:
            log.exception("bad frame from an API process")
            if self.transport is not None:
                self.transport.close()
            return
        for ident, command in items:
            if command == STATUS:
                self.answer(ident, self.group.status() | {"writer": "process",
                                                          "pid": os.getpid()})
                continue
            back = _Back(self, ident)
            try:
                self.group.put(command, back)
            except Exception as exc:
                self.answer(ident, exc)

    def answer(self, ident: int, outcome: Any) -> None:
        ok, result = portable(outcome)
        try:
            data = frame((ident, ok, result))
        except Exception as exc:
            data = frame((ident, *portable(RuntimeError(f"unsendable answer: {exc}"))))
        if not self.out:
            self.loop.call_soon(self._flush)  # after the rest of this batch's answers
        self.out.append(data)

    def _flush(self) -> None:
        data, self.out = b"".join(self.out), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def serve(path: str) -> None:
    """The writer process: one ``GroupWriter`` on the configured database, answering on
    ``path`` until SIGTERM or SIGINT; what is queued then is still applied."""
    import topup.handlers  # noqa: F401  (the domain event handlers, as in every process)
    from topup.bootstrap import database, tune_process
    from topup.config import load_settings

    parent = os.getppid()
    db = database(replace(load_settings(), writer_socket=""))
    group = db.writer
    assert isinstance(group, GroupWriter)
    # the writer thread, back from the database, takes the interpreter from the thread
    # reading the socket sooner than the default 5 ms; the collector left to the young
    tune_process()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if os.path.exists(path):
            os.unlink(path)
        Path(path).parent.mkdir(mode=0o700, exist_ok=True)  # swept while this one restarted
        server = await loop.create_unix_server(lambda: _Served(group, loop), path)
        os.chmod(path, 0o600)
        watch = loop.create_task(_orphaned(parent, stop))
        await stop.wait()
        watch.cancel()
        server.close()
        await asyncio.get_running_loop().run_in_executor(None, db.close)
        await asyncio.sleep(0.05)  # the last answers leave

    try:
        import uvloop

        uvloop.run(main())
    finally:
        db.dispose()
        _remove(path)


async def _orphaned(parent: int, stop: asyncio.Event) -> None:
    """Stop when the process that started this one is gone (killed without a chance to stop
    its writer): nobody could reach this one any more."""
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    log.warning("the server that started this writer is gone: stopping")
    stop.set()


def _remove(path: str) -> None:
    """The socket and its directory (one of ours, emptied), whichever is still there."""
    with suppress(FileNotFoundError):
        os.unlink(path)
    folder = os.path.dirname(path)
    if os.path.basename(folder).startswith(DIR_PREFIX):
        with suppress(OSError):  # gone already, or not empty
            os.rmdir(folder)


def sweep_stale(older_than: float = STALE_SECONDS) -> list[str]:
    """Remove this user's socket directories that nobody serves any more (a server killed
    outright leaves its own behind): older than ``older_than`` seconds, and their socket
    missing or refusing connections. Returns what was removed."""
    import glob
    import socket

    removed = []
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), DIR_PREFIX + "*")):
        try:
            info = os.stat(folder)
        except FileNotFoundError:
            continue
        if info.st_uid != os.getuid() or time.time() - info.st_mtime < older_than:
            continue
        path = os.path.join(folder, SOCKET_NAME)
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
                continue  # somebody answers: in use
            except OSError:
                pass
        _remove(path)
        if not os.path.exists(folder):
            removed.append(folder)
    return removed


class Supervised:
    """A child process of ``topup serve``, started again whenever it dies, after a pause
    that doubles (up to ``MAX_PAUSE``) while it keeps dying quickly. ``ready`` says when it
    serves; ``stop`` sends SIGTERM and kills it after a while."""

    MAX_PAUSE = 30.0
    READY_SECONDS = 30.0
    NAME = "child process"

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env = argv, env
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned = 0.0
        self._lock = threading.Lock()  # no process is started once stopping has begun
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def __enter__(self) -> Supervised:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def ready(self) -> bool:
        """Whether the process serves (polled until it does, or exits)."""
        return True

    def start(self) -> None:
        self._spawn()
        self.wait_ready()
        self._watch = threading.Thread(target=self._supervise, name=f"topup-{self.NAME}-watch",
                                       daemon=True)
        self._watch.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._spawned = time.monotonic()
            self._proc = subprocess.Popen(self.argv, env=self.env)  # noqa: S603 - ours

    def wait_ready(self) -> None:
        """Until ``ready``; RuntimeError if the process exits first."""
        deadline = time.monotonic() + self.READY_SECONDS
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"the {self.NAME} exited with {self._proc.returncode}")
            if self.ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"the {self.NAME} did not start listening")

    def _supervise(self) -> None:
        """Start the process again whenever it exits, pausing longer after quick deaths."""
        pause = 1.0
        while (proc := self._proc) is not None:
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - self._spawned > self.MAX_PAUSE:
                pause = 1.0  # it ran a good while: this is not a crash loop
            log.error("the %s exited with %s; starting it again in %.0f s", self.NAME, code,
                      pause)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, self.MAX_PAUSE)
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the process finishes what it holds and exits; killed after ``timeout``."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class WriterProcess(Supervised):
    """Runs ``serve`` in a child process for ``topup serve`` and starts it again if it dies.

    The socket is made in a fresh directory only this user can enter; ``socket`` is what the
    API workers get as ``TOPUP_WRITER_SOCKET``."""

    NAME = "writer process"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        sweep_stale()
        self.dir = tempfile.mkdtemp(prefix=DIR_PREFIX)
        self.socket = str(Path(self.dir) / SOCKET_NAME)
        super().__init__([sys.executable, "-m", "topup.db.remote", self.socket],
                         {k: v for k, v in (env or os.environ).items()
                          if k != "TOPUP_WRITER_SOCKET"})

    def __enter__(self) -> WriterProcess:
        self.start()
        return self

    def ready(self) -> bool:
        import socket

        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(self.socket)
                return True
            except OSError:
                return False

    def stop(self, timeout: float = 30.0) -> None:
        super().stop(timeout)
        _remove(self.socket)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     writer: %(message)s")
    serve(sys.argv[1])
