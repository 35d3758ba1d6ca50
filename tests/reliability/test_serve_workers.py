"""``parley serve --workers N``: processes share the port; callbacks reach the owning process.

A real ``parley serve --workers 2`` subprocess on 127.0.0.1 with the Redis store (the session's
real redis-server), fake engines, and the local ACS emulator playing ACS. Every loop is bounded
and every process is stopped.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.settings import all_env_keys
from tests.fixtures.redis_server import RedisServer
from tests.reliability.test_acs_serve import connected, parley_serve, until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PARLEY = str(Path(sys.executable).parent / "parley")


def test_more_than_one_worker_needs_the_redis_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in set(all_env_keys())}
    env.update(
        PARLEY_STORE="memory",
        PARLEY_WORKERS="2",
        PARLEY_AGENTS_DIR=str(Path(__file__).resolve().parents[2] / "agents"),
    )
    done = subprocess.run(  # noqa: S603 (our own console script)
        [PARLEY, "serve", "--env-file", str(tmp_path / "absent.env")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "PARLEY_WORKERS" in done.stdout and "PARLEY_STORE=redis" in done.stdout


async def test_calls_on_two_workers_each_end_by_a_callback_that_may_reach_either(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    async with parley_serve(
        tmp_path, PARLEY_STORE="redis", REDIS_URL=redis_server.url, PARLEY_WORKERS="2"
    ) as served:
        children = (
            Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
            .read_text()
            .split()
        )
        assert len(children) == 2
        calls = [await connected(served) for _ in range(8)]
        for call in calls:
            assert call.media is not None
            call.media.start_line()
        await until(
            lambda: all(c.media is not None and c.media.stats.frames_received for c in calls),
            "agent audio on every call",
            timeout_s=30,
        )
        # CallDisconnected goes to the callback URL, which any worker may take: the call ends
        # only if the router delivers it to the worker holding its media socket.
        await asyncio.gather(*(served.emulator.hang_up(call) for call in calls))
        await until(
            lambda: all(c.media is not None and c.media.closed.is_set() for c in calls),
            "every media socket closed",
            timeout_s=30,
        )
    assert served.process.returncode == 0, served.output()
