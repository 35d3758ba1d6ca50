"""Redis down mid-call: writes keep returning at once, and nothing is lost on recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.redis import RedisConfig, RedisConnection, RedisSessionStore, RedisTranscriptLog
from adapters.resilience import WriteBehindSessionStore, WriteBehindTranscriptLog
from ports import TranscriptEntry
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
async def connection(redis_server: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(
        RedisConfig(url=redis_server.url, command_timeout_ms=200, connect_timeout_ms=200)
    )
    await conn.start()
    yield conn
    await conn.aclose()


async def test_a_redis_crash_mid_call_loses_no_transcript_line_or_state(
    redis_server: RedisServer, connection: RedisConnection
) -> None:
    log = WriteBehindTranscriptLog(RedisTranscriptLog(connection, ttl_ms=60_000), max_backoff_s=0.2)
    sessions = WriteBehindSessionStore(
        RedisSessionStore(connection, ttl_ms=60_000), max_backoff_s=0.2
    )
    version = None
    for i in range(5):
        await log.append("call", TranscriptEntry(kind="user", text=f"line {i}"))
        version = await sessions.put("call", {"turn": i}, expected_version=version)

    redis_server.kill()
    for i in range(5, 15):
        # The call goes on: writes are accepted (queued) while Redis is gone.
        await log.append("call", TranscriptEntry(kind="user", text=f"line {i}"))
        version = await sessions.put("call", {"turn": i}, expected_version=version)
    assert version == 15
    await asyncio.sleep(0.3)
    assert log.depth > 0 and sessions.depth == 1

    redis_server.start()
    async with asyncio.timeout(10):
        while log.depth or sessions.depth:
            await asyncio.sleep(0.05)

    stored = await RedisTranscriptLog(connection, ttl_ms=60_000).read("call")
    assert [e.text for e in stored] == [f"line {i}" for i in range(15)]
    latest = await RedisSessionStore(connection, ttl_ms=60_000).get("call")
    assert latest is not None and latest.state == {"turn": 14}
    assert log.overflowed == 0
    await log.aclose()
    await sessions.aclose()


async def test_a_full_write_behind_queue_counts_what_it_drops(
    redis_server: RedisServer, connection: RedisConnection
) -> None:
    log = WriteBehindTranscriptLog(
        RedisTranscriptLog(connection, ttl_ms=60_000), max_pending=3, max_backoff_s=0.2
    )
    redis_server.kill()
    for i in range(5):
        await log.append("call", TranscriptEntry(kind="user", text=f"line {i}"))
    assert log.overflowed >= 2
    redis_server.start()
    await log.aclose(flush_timeout_s=5)
    stored = await RedisTranscriptLog(connection, ttl_ms=60_000).read("call")
    assert len(stored) + log.overflowed == 5
