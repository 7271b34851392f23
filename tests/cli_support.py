"""``topup`` sub-commands run inside the test's own process: the CLI's own app (the code behind
the installed ``topup``) with the same arguments, environment, standard input and output, and
exit code, without the second or more a fresh interpreter spends importing topup for each
command. Tests about the process itself (``serve``, ``diameter``, signals, the writer process)
start the installed ``topup`` instead."""

from __future__ import annotations

import logging
import signal
import subprocess
import traceback
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner


def topup(*args: str, env: Mapping[str, str | None],
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``topup *args`` with the environment changed by ``env`` (None unsets a variable) for
    its duration, answered as ``subprocess.run`` would: an uncaught exception exits 1 with
    its traceback on stderr, as the interpreter prints it."""
    from topup.cli.main import app

    # what a command sets for its own process (``worker`` its signal handlers and logging)
    # is given back to the test's process afterwards
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    root = logging.getLogger()
    root_handlers, root_level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
        root.handlers[:] = root_handlers
        root.setLevel(root_level)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["topup", *args], result.exit_code, result.stdout,
                                       stderr)


def in_data_dir(tmp_path: Path, *args: str, stdin: str | None = None,
                **env: str) -> subprocess.CompletedProcess[str]:
    """``topup *args`` on the SQLite data folder ``tmp_path/var`` (TOPUP_DATABASE_URL unset),
    with ``env`` set besides."""
    return topup(*args, stdin=stdin, env={"TOPUP_DATA_DIR": str(tmp_path / "var"),
                                          "TOPUP_DATABASE_URL": None, **env})
