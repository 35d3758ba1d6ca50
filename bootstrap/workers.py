"""``parley serve --workers N``: N serving processes sharing one port, one per core.

Python runs one event loop on one core, so a machine's other cores serve calls only through
more processes. The parent starts N children, each a whole ``parley serve`` (its own container,
call admission, router and metrics) listening on the same address with ``SO_REUSEPORT``: the
kernel spreads new connections over them (Linux ``socket(7)``,
https://man7.org/linux/man-pages/man7/socket.7.html). A call is owned by the process its media
socket reached; its Event Grid answer and its Call Automation callbacks may land on any process,
and the Redis-backed call event router delivers each callback to the owner (so workers above 1
need ``PARLEY_STORE=redis``; the per-call URL tokens are keyed from the ACS access key, which
every process shares).

The parent serves nothing itself: it forwards SIGTERM/SIGINT to every child (each drains its
own calls, :class:`adapters.http.DrainingServer`), restarts a child that dies on its own (at
most once a second), and exits when all children have exited. ``GET /metrics`` answers for the
process that took the connection; scrape each worker through its own ``PARLEY_PORT`` in a
process-per-container deployment when per-process figures matter.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

logger = logging.getLogger(__name__)

WORKER_ENTRY = "bootstrap.cli"
"""The module each child runs (``python -m``): the same CLI, with ``serve --reuse-port``. A
whole dotted path, so the wheel's build rewrites it with the package (docs/adr/0007)."""


def worker_command(serve_args: Sequence[str]) -> list[str]:
    """The command line of one worker: ``parley serve <serve_args> --workers 1 --reuse-port``."""
    return [
        sys.executable,
        "-m",
        WORKER_ENTRY,
        "serve",
        *serve_args,
        "--workers",
        "1",
        "--reuse-port",
    ]


class Supervisor:
    """Starts ``count`` workers, forwards stop signals, restarts crashed ones.

    Args:
        count: Number of worker processes (>= 1).
        command: The command line of one worker.
        restart_delay_s: Least time between two restarts of one worker slot, seconds.
    """

    def __init__(self, count: int, command: list[str], *, restart_delay_s: float = 1.0) -> None:
        if count < 1:
            raise ValueError(f"worker count must be at least 1, got {count}")
        self._count = count
        self._command = command
        self._restart_delay_s = restart_delay_s
        self._children: list[subprocess.Popen[bytes] | None] = [None] * count
        self._started_at = [0.0] * count
        self._stopping = False

    def _start(self, slot: int) -> None:
        # The command is this program's own entry point, not input.
        self._children[slot] = subprocess.Popen(self._command)  # noqa: S603
        self._started_at[slot] = time.monotonic()
        logger.info("worker %d started (pid %d)", slot, self._children[slot].pid)  # type: ignore[union-attr]

    def _forward(self, sig: int, frame: FrameType | None) -> None:
        if not self._stopping:
            logger.info("signal %s: stopping %d worker(s)", signal.Signals(sig).name, self._count)
        self._stopping = True
        for child in self._children:
            if child is not None and child.poll() is None:
                child.send_signal(sig)

    def run(self) -> int:
        """Serve until every worker has exited after a stop signal; returns the exit status."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._forward)
        for slot in range(self._count):
            self._start(slot)
        status = 0
        while True:
            alive = 0
            for slot, child in enumerate(self._children):
                if child is None:
                    continue
                code = child.poll()
                if code is None:
                    alive += 1
                    continue
                status = max(status, code if code > 0 else 0)
                if self._stopping:
                    self._children[slot] = None
                    continue
                logger.error("worker %d (pid %d) exited with %d; restarting", slot, child.pid, code)
                wait = self._started_at[slot] + self._restart_delay_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._start(slot)
                alive += 1
            if alive == 0 and self._stopping:
                return status
            time.sleep(0.2)
