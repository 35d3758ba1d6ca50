"""A retried transcript append (same token) is stored once, against a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from adapters.redis import KeySchema, RedisConfig, RedisConnection, RedisTranscriptLog
from ports import TranscriptEntry
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
async def connection(redis_server: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(RedisConfig(url=redis_server.url))
    await conn.start()
    yield conn
    await conn.aclose()


async def test_a_retry_with_the_same_token_is_not_stored_twice(
    connection: RedisConnection, redis_server: RedisServer
) -> None:
    log = RedisTranscriptLog(connection, ttl_ms=60_000)
    first = TranscriptEntry(kind="user", text="hello")
    second = TranscriptEntry(kind="user", text="hello")  # same words, a new line
    assert await log.append_once("c", first, "t1") is True
    assert await log.append_once("c", first, "t1") is False
    assert await log.append_once("c", second, "t2") is True
    assert [e.text for e in await log.read("c")] == ["hello", "hello"]
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        assert await client.pttl(KeySchema().transcript_last("c")) > 0
        assert await client.pttl(KeySchema().transcript("c")) > 0
    finally:
        await client.aclose()
