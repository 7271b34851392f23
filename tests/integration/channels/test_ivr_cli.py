"""``topup ivr`` as an operator starts it: it migrates, listens, and serves a call over FastAGI."""

from __future__ import annotations

import ast
import asyncio
import os
import select
import subprocess
import sys
from pathlib import Path

from tests.integration.channels.agi_peer import CALL_LIMIT, FakeAsterisk, environment

TOPUP = str(Path(sys.executable).parent / "topup")
START_LIMIT = 60.0


def test_topup_ivr_serves_a_call(tmp_path: Path) -> None:
    env = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var")}
    env.pop("TOPUP_DATABASE_URL", None)
    proc = subprocess.Popen([TOPUP, "ivr", "--port", "0", "--call-seconds", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_LIMIT)
        assert ready, "topup ivr did not start listening in time"
        line = proc.stdout.readline()
        assert line.startswith("IVR hotline listening on "), line + proc.stderr.read()
        host, port = ast.literal_eval(line.removeprefix("IVR hotline listening on ").strip())
        assert host == "127.0.0.1"
        peer = FakeAsterisk(environment("66811111111"))
        commands = asyncio.run(asyncio.wait_for(peer.call(port), CALL_LIMIT))
        assert commands == ["ANSWER", 'STREAM FILE topup/en/unknown-caller ""', "HANGUP"]
    finally:
        proc.terminate()
        proc.wait(timeout=START_LIMIT)
