"""The ``--workers`` supervisor: forwards a stop signal at once, restarts a crashed worker."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

SUPERVISE = """
import sys
from bootstrap.workers import Supervisor
sys.exit(Supervisor(2, [sys.executable, "-c", sys.argv[1]], restart_delay_s=0.1).run())
"""


def supervise(worker_code: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[3]
    return subprocess.Popen([sys.executable, "-c", SUPERVISE, worker_code], cwd=root, text=True)


def test_a_stop_signal_reaches_every_worker_and_the_supervisor_exits_cleanly(
    tmp_path: Path,
) -> None:
    marks = tmp_path / "started"
    code = (
        "import os, signal, sys, time\n"
        f"open({str(marks)!r}, 'a').write('x')\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "time.sleep(60)\n"
    )
    parent = supervise(code)
    try:
        deadline = time.monotonic() + 20
        while not (marks.exists() and len(marks.read_text()) == 2):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
    finally:
        parent.kill()


def test_a_crashed_worker_is_restarted_until_the_stop(tmp_path: Path) -> None:
    marks = tmp_path / "started"
    code = f"open({str(marks)!r}, 'a').write('x'); raise SystemExit(3)"
    parent = supervise(code)
    try:
        deadline = time.monotonic() + 20
        while not (marks.exists() and len(marks.read_text()) >= 6):
            assert time.monotonic() < deadline, "crashed workers were not restarted"
            time.sleep(0.05)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 3  # the workers' last status
    finally:
        parent.kill()
