"""A rolling restart of three ``parley serve`` instances during live calls loses no call.

Three real ``parley serve`` processes (fake engines, the echo model, ``PARLEY_STORE=redis``)
share one real redis-server behind a small load balancer (``lb_proxy``: ready backends only,
callbacks to a random one, media sockets round robin), with the local ACS emulator as ACS:
its Event Grid deliveries, callbacks and media sockets all go through the balancer, so a
call's callbacks land on random instances. The instances are replaced one by one as a rolling
update does: the new one starts and becomes ready, the balancer stops sending new connections
to the old one, the old one gets SIGTERM while it holds live calls, drains and exits 0. Calls
start before and during each drain. Every call must complete: both caller turns answered,
the end recorded in Redis, no hang-up by Parley (a lost call is hung up), no callback
refused; the callbacks that land on another instance are forwarded to the one holding the
call (handed over), and an IncomingCall that reaches a draining instance is refused with 503
and answered elsewhere on the retry, as Event Grid retries.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.acs_emulator.server import AcsEmulator, EmulatedCall
from tests.e2e.lb_proxy import LoadBalancer
from tests.e2e.redis_support import redis_reader, until
from tests.e2e.test_redis_instances import metric, parley_serve, server_env, wait_ready
from tests.fixtures.redis_server import RedisServer, free_port
from tests.reliability.test_resume_media_reconnect import key_turn

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]

DRAIN_TIMEOUT_S = 90
CALLS_BEFORE_EACH_ROLL = 3
CALLS_DURING_EACH_DRAIN = 2


@dataclass
class Cluster:
    emulator: AcsEmulator
    lb: LoadBalancer
    redis_url: str
    logs: Path
    stack: ExitStack
    http: httpx.AsyncClient
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    forwarded: dict[str, float] = field(default_factory=dict)
    refused_deliveries: int = 0

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def start(self, name: str) -> None:
        port = free_port()
        env = server_env(name, port, self.redis_url, self.emulator)
        env.update(
            {
                # Callbacks and media come back through the balancer, to any instance.
                "ACS_CALLBACK_BASE_URL": self.lb.url,
                "PARLEY_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
            }
        )
        self.processes[name] = self.stack.enter_context(parley_serve(name, port, env, self.logs))
        self.ports[name] = port
        await wait_ready(self.http, self.base(name), self.processes[name])
        self.lb.add(name, port)
        await until(lambda: name in self.lb.ready(), what=f"{name} behind the balancer")

    async def scrape_forwarded(self, name: str) -> None:
        line = 'parley_call_events_routed_total{outcome="forwarded"}'
        self.forwarded[name] = await metric(self.http, self.base(name), line)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@asynccontextmanager
async def cluster(redis_url: str, logs: Path, names: tuple[str, ...]) -> AsyncIterator[Cluster]:
    async with (
        AcsEmulator() as emulator,
        LoadBalancer(seed=20) as lb,
        httpx.AsyncClient(timeout=5) as http,
    ):
        with ExitStack() as stack:
            state = Cluster(emulator, lb, redis_url, logs, stack, http)
            try:
                await asyncio.gather(*(state.start(name) for name in names))
                yield state
            except BaseException:
                for name in state.processes:
                    print(f"--- instance {name} log (tail) ---\n{state.log(name)[-4000:]}")  # noqa: T201
                raise


async def offer(state: Cluster, events_url: str | None = None) -> EmulatedCall:
    """An IncomingCall delivered through the balancer, retried on 5xx as Event Grid does."""
    url = events_url or f"{state.lb.url}/api/acs/events"
    for attempt in range(30):
        try:
            return await state.emulator.offer_call(url, answer_timeout_s=20)
        except (RuntimeError, httpx.HTTPError):
            state.refused_deliveries += 1
            url = f"{state.lb.url}/api/acs/events"
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("IncomingCall never answered")


async def whole_call(state: Cluster, digits: tuple[str, ...]) -> EmulatedCall:
    """A call: greeting, one keyed turn per item of ``digits``, then the caller hangs up."""
    call = await offer(state)
    await asyncio.wait_for(call.media_ready.wait(), 20)
    assert call.media is not None, call.media_error
    call.media.start_line()
    await until(lambda: call.media.stats.frames_received > 0, 20, "greeting")
    for turn in digits:
        await key_turn(state.emulator, call, turn)
    await state.emulator.hang_up(call)
    return call


async def transcript_of(redis_url: str, call_id: str) -> tuple[list[str], str]:
    """The caller lines of a call's stored transcript and the end reason of its session."""
    async with redis_reader(redis_url) as (log, sessions):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:
            entries = await log.read(call_id)
            stored = await sessions.get(call_id)
            status = stored.state.get("status") if stored is not None else None
            reason = str(status.get("end_reason", "")) if isinstance(status, dict) else ""
            users = [e.text for e in entries if e.kind == "user"]
            answered = sum(e.kind == "assistant" for e in entries)
            if reason and answered >= len(users) + 1:
                return users, reason
            assert loop.time() < deadline, f"{call_id}: {entries} / {reason!r}"
            await asyncio.sleep(0.1)


async def test_rolling_restart_during_live_calls_completes_or_hands_over_every_call(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    calls: list[asyncio.Task[EmulatedCall]] = []
    serial = iter(range(1, 1000))

    def new_calls(state: Cluster, count: int) -> list[asyncio.Task[EmulatedCall]]:
        made = [
            asyncio.create_task(whole_call(state, (f"{next(serial)}", f"{next(serial)}")))
            for _ in range(count)
        ]
        calls.extend(made)
        return made

    async with cluster(redis_server.url, tmp_path, ("a1", "b1", "c1")) as state:
        for old in ("a1", "b1", "c1"):
            new_calls(state, CALLS_BEFORE_EACH_ROLL)
            old_base = state.base(old)

            async def holds_a_call(base: str = old_base) -> bool:
                return await metric(state.http, base, "parley_call_router_attached_calls") >= 1

            for _ in range(300):
                if await holds_a_call():
                    break
                await asyncio.sleep(0.05)
            assert await holds_a_call(), f"{old} never held a live call"
            # Surge: the replacement is ready before the old instance stops.
            await state.start(f"{old[0]}2")
            await state.scrape_forwarded(old)
            state.lb.remove(old)  # terminating: no new connections reach it
            state.processes[old].send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            # A stale route still delivers an IncomingCall to it: 503, answered elsewhere.
            calls.append(asyncio.create_task(_offer_first_to(state, old)))
            new_calls(state, CALLS_DURING_EACH_DRAIN)
            code = await asyncio.to_thread(state.processes[old].wait, DRAIN_TIMEOUT_S + 30)
            assert code == 0, state.log(old)[-3000:]
            log = state.log(old)
            assert "draining" in log and "drain complete" in log, log[-3000:]
        finished = await asyncio.wait_for(asyncio.gather(*calls), 180)
        for name in ("a2", "b2", "c2"):
            await state.scrape_forwarded(name)

        for call in finished:
            assert call.media_error is None
            assert call.hang_ups == [], f"Parley hung up {call.call_connection_id}"
            during = [status for name, status in call.callbacks if name != "CallDisconnected"]
            assert during and set(during) == {200}, call.callbacks
            users, reason = await transcript_of(redis_server.url, call.call_connection_id)
            assert len(users) == 2 and reason, (users, reason)
        for name in state.processes:
            assert "no live owner;" not in state.log(name), name
        assert state.refused_deliveries >= 3  # one per draining instance, at least
        assert sum(state.forwarded.values()) >= 1, state.forwarded
        media = [r.backend for r in state.lb.routed if r.kind == "websocket"]
        assert len(set(media)) == 6  # every instance, old and new, held calls
        assert len(finished) == 3 * (CALLS_BEFORE_EACH_ROLL + CALLS_DURING_EACH_DRAIN + 1)


async def _offer_first_to(state: Cluster, draining: str) -> EmulatedCall:
    """A call whose first IncomingCall delivery reaches the draining instance directly."""
    call = await offer(state, f"{state.base(draining)}/api/acs/events")
    await asyncio.wait_for(call.media_ready.wait(), 20)
    assert call.media is not None, call.media_error
    call.media.start_line()
    await until(lambda: call.media.stats.frames_received > 0, 20, "greeting")
    for turn in ("7", "8"):
        await key_turn(state.emulator, call, turn)
    await state.emulator.hang_up(call)
    return call
