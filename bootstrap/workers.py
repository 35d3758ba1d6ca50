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

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

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

    One asyncio loop in the parent waits on every child's exit and on SIGTERM/SIGINT, so a
    signal is forwarded at once and nothing polls.

    Args:
        count: Number of worker processes (>= 1).
        command: The command line of one worker.
        restart_delay_s: Least time between two restarts of one worker slot, seconds.

    Raises:
        ValueError: ``count`` below 1.
    """

    def __init__(self, count: int, command: list[str], *, restart_delay_s: float = 1.0) -> None:
        if count < 1:
            raise ValueError(f"worker count must be at least 1, got {count}")
        self._count = count
        self._command = command
        self._restart_delay_s = restart_delay_s
        self._children: list[asyncio.subprocess.Process | None] = [None] * count

    async def _start(self, slot: int) -> asyncio.subprocess.Process:
        # The command is this program's own entry point, not input.
        child = await asyncio.create_subprocess_exec(*self._command)
        self._children[slot] = child
        logger.info("worker %d started (pid %d)", slot, child.pid)
        return child

    def _forward(self, sig: signal.Signals, stopping: asyncio.Event) -> None:
        if not stopping.is_set():
            logger.info("signal %s: stopping %d worker(s)", sig.name, self._count)
        stopping.set()
        for child in self._children:
            if child is not None and child.returncode is None:
                child.send_signal(sig)

    async def _keep(self, slot: int, stopping: asyncio.Event) -> int:
        """Run one slot's worker until a stop; returns its last exit status (0 for a signal)."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            child = await self._start(slot)
            if stopping.is_set():  # the signal came while this child was being started
                child.terminate()
            code = await child.wait()
            status = code if code > 0 else 0
            if stopping.is_set():
                return status
            logger.error("worker %d exited with %d; restarting", slot, code)
            # At most one restart per restart_delay_s; a stop signal during the wait ends it.
            delay = started + self._restart_delay_s - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
            if stopping.is_set():
                return status

    async def _run(self) -> int:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._forward, sig, stopping)
        slots = (self._keep(slot, stopping) for slot in range(self._count))
        statuses = await asyncio.gather(*slots)
        return max(statuses)

    def run(self) -> int:
        """Serve until every worker has exited after a stop signal; returns the exit status."""
        return asyncio.run(self._run())
