"""Two ``parley serve`` processes share one Redis: a callback posted to B reaches A's call.

Real processes (``parley serve`` subprocesses on free ports, ``PARLEY_STORE=redis``), a real
redis-server, and the local ACS emulator (in this test process) as ACS: it offers the call to
A, A answers through the real Call Automation SDK and the media WebSocket (JWT-signed) lands on
A; then the emulator posts ``CallDisconnected`` to B. B finds A as the owner in the call
registry and publishes the event on A's channel; A's call ends, A closes the media socket and
A's session in Redis records why.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.acs_emulator.server import AcsEmulator
from bootstrap.settings import all_env_keys
from tests.fixtures.redis_server import RedisServer, free_port

from .acs_support import REPO_ROOT
from .redis_support import redis_reader, until

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

PARLEY = str(Path(sys.executable).parent / "parley")


def server_env(name: str, port: int, redis_url: str, emulator: AcsEmulator) -> dict[str, str]:
    """A clean environment (no inherited Parley keys) for one instance on fake engines."""
    env = {k: v for k, v in os.environ.items() if k not in set(all_env_keys())}
    env.update(
        {
            "PARLEY_INSTANCE_ID": name,
            "PARLEY_STT": "fake",
            "PARLEY_TTS": "fake",
            "PARLEY_LLM": "fake",
            "PARLEY_VAD": "fake",
            "PARLEY_STORE": "redis",
            "PARLEY_AGENTS_DIR": str(REPO_ROOT / "agents"),
            "PARLEY_LOG_LEVEL": "INFO",
            "PARLEY_DRAIN_TIMEOUT_S": "1",
            "REDIS_URL": redis_url,
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ACS_CALLBACK_BASE_URL": f"http://127.0.0.1:{port}",
            "ACS_RESOURCE_ID": emulator.resource_id,
            "ACS_OPENID_CONFIG_URL": emulator.openid_config_url,
            "ACS_VERIFY_TOKENS": "true",
            "ACS_ENFORCE_HTTPS": "false",
        }
    )
    return env


@contextmanager
def parley_serve(
    name: str, port: int, env: dict[str, str], logs: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``parley serve`` as a subprocess; SIGTERM (drain), then kill if it lingers."""
    with (logs / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own console script)
            [PARLEY, "serve", "--port", str(port), "--env-file", str(logs / "absent.env")],
            env=env,
            cwd=logs,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


async def wait_ready(http: httpx.AsyncClient, base: str, process: subprocess.Popen[bytes]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        assert process.poll() is None, f"{base} exited with {process.returncode}"
        try:
            if (await http.get(f"{base}/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert loop.time() < deadline, f"{base} not ready within 30 s"
        await asyncio.sleep(0.1)


async def metric(http: httpx.AsyncClient, base: str, line_start: str) -> float:
    """The value of the first /metrics sample whose line starts with ``line_start``."""
    for line in (await http.get(f"{base}/metrics")).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in {base}/metrics")


@dataclass
class Cluster:
    emulator: AcsEmulator
    a: str
    b: str
    process_a: subprocess.Popen[bytes]
    http: httpx.AsyncClient


@asynccontextmanager
async def two_instances(redis_url: str, logs: Path) -> AsyncIterator[Cluster]:
    async with AcsEmulator() as emulator, httpx.AsyncClient(timeout=5) as http:
        port_a, port_b = free_port(), free_port()
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        env_a = server_env("a", port_a, redis_url, emulator)
        env_b = server_env("b", port_b, redis_url, emulator)
        with (
            parley_serve("a", port_a, env_a, logs) as process_a,
            parley_serve("b", port_b, env_b, logs) as process_b,
        ):
            try:
                await asyncio.gather(wait_ready(http, a, process_a), wait_ready(http, b, process_b))
                yield Cluster(emulator, a, b, process_a, http)
            except BaseException:
                for name in ("a", "b"):
                    tail = (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                    print(f"--- instance {name} log (tail) ---\n{tail}")  # noqa: T201
                raise


async def test_a_callback_posted_to_the_other_instance_reaches_the_call_and_ends_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with two_instances(redis_server.url, tmp_path) as cluster:
        emulator, a, b, http = cluster.emulator, cluster.a, cluster.b, cluster.http
        call = await emulator.offer_call(f"{a}/api/acs/events")
        await asyncio.wait_for(call.media_ready.wait(), 10)
        media = call.media
        assert media is not None and call.media_error is None
        media.start_line()
        await until(lambda: media.stats.frames_received > 0, what="A streams the greeting")
        assert await metric(http, a, "parley_call_router_attached_calls") == 1
        assert await metric(http, b, "parley_call_router_attached_calls") == 0

        # The load balancer sends this call's next callback to B.
        assert call.callback_uri.startswith(a)
        call.callback_uri = b + call.callback_uri.removeprefix(a)
        status = await emulator.post_callback(call, "CallDisconnected", message="caller left")
        assert status == 200

        await until(media.closed.is_set, what="A ended the call and closed its media socket")
        forwarded = 'parley_call_events_routed_total{outcome="forwarded"}'
        assert await metric(http, b, forwarded) == 1
        assert await metric(http, a, 'parley_call_events_routed_total{outcome="lost"}') == 0

        async with redis_reader(redis_server.url) as (_log, sessions):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while True:
                stored = await sessions.get(call.call_connection_id)
                status_of = stored.state.get("status") if stored is not None else None
                if isinstance(status_of, dict) and status_of.get("end_reason"):
                    break
                assert loop.time() < deadline, "A's session never recorded the end"
                await asyncio.sleep(0.1)
        assert status_of["end_reason"] == "CallDisconnected"


async def test_a_callback_for_a_call_whose_instance_died_hangs_the_call_up(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with two_instances(redis_server.url, tmp_path) as cluster:
        emulator, a, b = cluster.emulator, cluster.a, cluster.b
        call = await emulator.offer_call(f"{a}/api/acs/events")
        await asyncio.wait_for(call.media_ready.wait(), 10)
        assert call.media is not None
        call.media.start_line()
        await until(lambda: call.media.stats.frames_received > 0, what="A streams the greeting")

        cluster.process_a.kill()  # A crashes: its claim stays in Redis until the TTL lapses
        cluster.process_a.wait(timeout=5)
        call.callback_uri = b + call.callback_uri.removeprefix(a)
        await emulator.post_callback(call, "ParticipantsUpdated")

        await until(lambda: bool(call.hang_ups), what="B hung up the lost call through ACS")
        # ACS confirms with CallDisconnected (to B again): a call that ended, not lost twice.
        await until(
            lambda: ("CallDisconnected", 200) in call.callbacks, what="CallDisconnected posted"
        )
        assert await metric(cluster.http, b, "parley_call_router_lost_calls_total") == 1
        ended = 'parley_call_events_routed_total{outcome="ended"}'
        assert await metric(cluster.http, b, ended) == 1
