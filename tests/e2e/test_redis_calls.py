"""ACS calls through the in-process server on ``PARLEY_STORE=redis`` against a real redis-server.

The server runs on a real uvicorn on 127.0.0.1 (``bootstrap.call_command.open_stack``), the
caller is the local ACS emulator, engines are scripted fakes (no CPU-heavy speech engines).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis.asyncio

from adapters.acs_emulator.serving import serve_app
from adapters.resilience import WriteBehindSessionStore, WriteBehindTranscriptLog
from bootstrap.app import create_app
from bootstrap.call_command import open_stack
from bootstrap.containers import build_container, resolve
from tests.fixtures.redis_server import RedisServer

from .redis_support import (
    caller_turn,
    redis_reader,
    redis_settings,
    scripted_engines,
    speak_and_wait_for_reply,
    texts,
    until,
    until_quiet,
)

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

UTTERANCES = ["hello there", "what is my balance", "thank you"]


async def test_a_redis_crash_mid_call_keeps_the_call_going_and_loses_no_transcript_line(
    redis_server: RedisServer,
) -> None:
    settings = redis_settings(redis_server.url, timeout_ms=300.0, connect_timeout_ms=300.0)
    async with open_stack(
        settings, configure=scripted_engines(UTTERANCES), warm_decoders=0
    ) as stack:
        assert stack.container is not None
        transcripts = await resolve(stack.container.adapters.transcripts)
        sessions = await resolve(stack.container.adapters.sessions)
        assert isinstance(transcripts, WriteBehindTranscriptLog)
        assert isinstance(sessions, WriteBehindSessionStore)
        call = await stack.emulator.offer_call(stack.events_url)
        await asyncio.wait_for(call.media_ready.wait(), 10)
        media = call.media
        assert media is not None
        media.start_line()
        await until(lambda: media.stats.frames_received > 0, what="greeting audio")

        await speak_and_wait_for_reply(media, caller_turn())
        await until_quiet(media)
        redis_server.kill()
        # Redis is gone: the caller is still heard and answered.
        await speak_and_wait_for_reply(media, caller_turn())
        await until_quiet(media)
        await until(lambda: transcripts.depth > 0, what="transcript lines queued while down")
        await asyncio.to_thread(redis_server.start)
        await speak_and_wait_for_reply(media, caller_turn())
        await until_quiet(media)
        assert not call.ended.is_set() and not media.closed.is_set()
        # The call router listens on its channel again (callbacks from other instances).
        channel = f"parley:channel:instance:{stack.container.core.instance_id()}"
        client = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            subscribers = 0
            for _ in range(100):
                subscribers = (await client.pubsub_numsub(channel))[0][1]
                if subscribers:
                    break
                await asyncio.sleep(0.1)
            assert subscribers == 1
        finally:
            await client.aclose()
        await stack.emulator.hang_up(call)
        await until(
            lambda: transcripts.depth == 0 and sessions.depth == 0,
            timeout_s=20,
            what="write-behind queues drained after recovery",
        )
        assert transcripts.overflowed == 0

    async with redis_reader(redis_server.url) as (log, store):
        stored = await log.read(call.call_connection_id)
        session = await store.get(call.call_connection_id)
    assert texts(stored, "user") == UTTERANCES
    replies = texts(stored, "assistant")
    assert replies[1:] == [f"You said: {u}." for u in UTTERANCES]
    assert replies[0].startswith("Thank you for calling Parley Bank")
    assert len(texts(stored, "turn_latency")) >= len(UTTERANCES)
    assert session is not None and session.state["status"]["end_reason"]  # type: ignore[index]


async def test_every_key_a_call_leaves_in_redis_has_a_ttl(redis_server: RedisServer) -> None:
    async with open_stack(
        redis_settings(redis_server.url), configure=scripted_engines(["hello"]), warm_decoders=0
    ) as stack:
        call = await stack.emulator.offer_call(stack.events_url)
        await asyncio.wait_for(call.media_ready.wait(), 10)
        media = call.media
        assert media is not None
        media.start_line()
        await speak_and_wait_for_reply(media, caller_turn())
        await stack.emulator.hang_up(call)
        assert stack.container is not None
        transcripts = await resolve(stack.container.adapters.transcripts)
        sessions = await resolve(stack.container.adapters.sessions)
        await until(lambda: transcripts.depth == 0 and sessions.depth == 0, what="drained")

    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        keys = [key.decode() async for key in client.scan_iter(match="*", count=100)]
        ttls = {key: await client.pttl(key) for key in keys}
    finally:
        await client.aclose()
    call_id = call.call_connection_id
    assert {f"parley:{{{call_id}}}:session", f"parley:{{{call_id}}}:transcript"} <= set(keys)
    without_ttl = {key: ttl for key, ttl in ttls.items() if ttl <= 0}
    assert without_ttl == {}, f"keys without a TTL: {without_ttl}"


async def test_redis_down_at_start_leaves_the_process_up_and_not_ready_until_it_returns(
    redis_server: RedisServer,
) -> None:
    redis_server.kill()  # its port is closed now
    settings = redis_settings(redis_server.url, timeout_ms=200.0, connect_timeout_ms=200.0)
    app = create_app(build_container(settings))
    async with serve_app(app, lifespan="on") as base, httpx.AsyncClient(base_url=base) as http:
        health = await http.get("/health")
        ready = await http.get("/ready")
        metrics = (await http.get("/metrics")).text
        assert health.status_code == 200
        assert ready.status_code == 503
        failed = ready.json()["failed"]
        assert any(f.startswith("store: store_unavailable") for f in failed), failed
        assert 'parley_write_behind_depth{queue="transcripts"} 0.0' in metrics
        assert 'parley_write_behind_overflow_total{queue="transcripts"} 0.0' in metrics
        assert "parley_call_router_subscribed 0.0" in metrics

        await asyncio.to_thread(redis_server.start)
        await until_ready(http)
        metrics = (await http.get("/metrics")).text
        assert "parley_call_router_subscribed 1.0" in metrics


async def until_ready(http: httpx.AsyncClient, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (await http.get("/ready")).status_code != 200:
        assert loop.time() < deadline, "not ready after Redis came back"
        await asyncio.sleep(0.1)
    # The router's subscription comes back on its own retry schedule (backoff up to 2 s).
    while "parley_call_router_subscribed 1.0" not in (await http.get("/metrics")).text:
        assert loop.time() < deadline, "the call router did not subscribe again"
        await asyncio.sleep(0.1)
