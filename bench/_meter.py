"""CPU time and peak memory of the server and database processes, read from /proc.

CPU is utime + stime (``/proc/<pid>/stat``) summed over a set of processes at two instants;
a process that ends between them takes its time with it, so the sets are chosen among
long-lived processes: the ``topup serve`` session (master, workers, writer process) and, for
PostgreSQL, the server's background processes (WAL writer, checkpointer, ...) plus the
backends connected to the bench database (the API's pool keeps them open). Backends of other
databases (other work on the same PostgreSQL) are left out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# "postgres: [cluster: ]user database host(port) state"; background processes do not match
_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) (\S+\(\d+\)|\[local\])")


@dataclass(frozen=True)
class Stat:
    pid: int
    comm: str
    pgrp: int
    cpu_ticks: int


def stat(pid: int) -> Stat | None:
    """The parts of ``/proc/<pid>/stat`` used here; None if the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    head, _, rest = raw.rpartition(")")
    fields = rest.split()
    return Stat(pid, head.partition("(")[2], int(fields[2]),
                int(fields[11]) + int(fields[12]))


def all_stats() -> list[Stat]:
    found = (stat(int(p)) for p in os.listdir("/proc") if p.isdigit())
    return [s for s in found if s is not None]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def group_pids(pgrp: int) -> list[int]:
    """The processes of one process group (``topup serve`` runs in its own session)."""
    return [s.pid for s in all_stats() if s.pgrp == pgrp]


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL's own processes and its backends connected to ``database``."""
    pids = []
    for s in all_stats():
        if s.comm != "postgres":
            continue
        backend = _BACKEND.match(_cmdline(s.pid))
        if backend is None or backend.group(1) == database:
            pids.append(s.pid)
    return pids


def cpu_seconds(pids: list[int]) -> float:
    return sum(s.cpu_ticks for s in map(stat, pids) if s is not None) / TICK


def peak_rss_mib(pids: list[int]) -> float:
    """The largest VmHWM (peak resident set) among ``pids``, in MiB."""
    peak = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
        peak = max(peak, int(found.group(1)) if found else 0)
    return peak / 1024


@dataclass(frozen=True)
class Cpu:
    """CPU seconds of the server and of the database at one instant."""

    server: float
    db: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.server - other.server, self.db - other.db)


class Meter:
    """Reads the CPU of one server's processes and of its PostgreSQL database (if any)."""

    def __init__(self, server_pgrp: int, pg_database: str | None) -> None:
        self.server_pgrp, self.pg_database = server_pgrp, pg_database

    def cpu(self) -> Cpu:
        db = cpu_seconds(postgres_pids(self.pg_database)) if self.pg_database else 0.0
        return Cpu(cpu_seconds(group_pids(self.server_pgrp)), db)

    def peak_rss_mib(self) -> float:
        return peak_rss_mib(group_pids(self.server_pgrp))
