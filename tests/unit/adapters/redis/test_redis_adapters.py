"""Redis adapter specifics, against a real redis-server (never a mock).

The shared behaviour (versions, TTL, order, pub/sub) is in tests/contract; here: the key
schema, expiry of every key, error translation, and Entra token refresh.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest
from redis import exceptions as redis_errors

from adapters.redis import (
    EntraTokenCredentialProvider,
    RedisCallRegistry,
    RedisConfig,
    RedisConnection,
    RedisEventBus,
    RedisSessionStore,
    RedisTranscriptLog,
)
from adapters.redis.errors import translate
from ports import StoreError, StoreUnavailableError, TranscriptEntry, VersionConflictError
from tests.fixtures.redis_server import RedisServer, free_port

pytestmark = pytest.mark.redis


@pytest.fixture
async def connection(redis_server: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(RedisConfig(url=redis_server.url))
    await conn.start()
    yield conn
    await conn.aclose()


async def test_every_key_a_call_writes_has_a_ttl_and_the_call_hash_tag(
    connection: RedisConnection,
) -> None:
    sessions = RedisSessionStore(connection, ttl_ms=60_000)
    log = RedisTranscriptLog(connection, ttl_ms=60_000)
    registry = RedisCallRegistry(connection, ttl_ms=15_000)
    await sessions.put("call-1", {"phase": "listening"}, expected_version=None)
    await log.append("call-1", TranscriptEntry(kind="user", text="hello"))
    await registry.claim("call-1", "instance-a")

    keys = [key async for key in connection.client.scan_iter(match="*")]
    assert sorted(keys) == sorted(
        [b"parley:{call-1}:session", b"parley:{call-1}:transcript", b"parley:{call-1}:owner"]
    )
    for key in keys:
        assert await connection.client.pttl(key) > 0, key


async def test_a_stale_session_write_raises_a_version_conflict_naming_both_versions(
    connection: RedisConnection,
) -> None:
    store = RedisSessionStore(connection, ttl_ms=60_000)
    assert await store.put("c", {"n": 1}, expected_version=None) == 1
    assert await store.put("c", {"n": 2}, expected_version=1) == 2
    with pytest.raises(VersionConflictError) as info:
        await store.put("c", {"n": 3}, expected_version=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    stored = await store.get("c")
    assert stored is not None and stored.state == {"n": 2}


async def test_concurrent_writers_from_one_version_have_exactly_one_winner(
    connection: RedisConnection,
) -> None:
    store = RedisSessionStore(connection, ttl_ms=60_000)
    await store.put("c", {"n": 0}, expected_version=None)
    results = await asyncio.gather(
        *(store.put("c", {"n": i}, expected_version=1) for i in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, int) for r in results) == 1
    assert sum(isinstance(r, VersionConflictError) for r in results) == 9


async def test_keys_expire_after_a_short_ttl(connection: RedisConnection) -> None:
    store = RedisSessionStore(connection, ttl_ms=150)
    log = RedisTranscriptLog(connection, ttl_ms=150)
    registry = RedisCallRegistry(connection, ttl_ms=150)
    await store.put("c", {"n": 1}, expected_version=None)
    await log.append("c", TranscriptEntry(kind="user", text="hi"))
    await registry.claim("c", "a")
    await asyncio.sleep(0.4)
    assert await store.get("c") is None
    assert await log.read("c") == []
    assert await registry.owner("c") is None


async def test_release_does_not_remove_another_instances_claim(
    connection: RedisConnection,
) -> None:
    registry = RedisCallRegistry(connection, ttl_ms=10_000)
    await registry.claim("c", "b")
    await registry.release("c", "a")
    assert await registry.owner("c") == "b"
    await registry.release("c", "b")
    assert await registry.owner("c") is None


async def test_a_subscriber_receives_what_is_published_after_subscribe_returns(
    connection: RedisConnection,
) -> None:
    bus = RedisEventBus(connection)
    sub = await bus.subscribe("instance-a")
    assert await bus.publish("instance-a", {"kind": "CallDisconnected", "call": "c"}) == 1
    received = await asyncio.wait_for(anext(aiter(sub)), timeout=2)
    await sub.aclose()
    assert received == {"kind": "CallDisconnected", "call": "c"}


async def test_redis_down_raises_store_unavailable_within_the_command_timeout() -> None:
    conn = RedisConnection(
        RedisConfig(url=f"redis://127.0.0.1:{free_port()}/0", command_timeout_ms=300)
    )
    await conn.start()
    try:
        store = RedisSessionStore(conn, ttl_ms=1000)
        with pytest.raises(StoreUnavailableError):
            await store.get("c")
        with pytest.raises(StoreUnavailableError):
            await conn.health_check()
    finally:
        await conn.aclose()


def test_every_redis_exception_class_translates_to_a_port_error() -> None:
    classes = [
        obj
        for _name, obj in inspect.getmembers(redis_errors, inspect.isclass)
        if issubclass(obj, redis_errors.RedisError)
    ]
    assert classes, "redis.exceptions exposes no error classes?"
    for cls in classes:
        try:
            exc = cls("1 127.0.0.1:7000")  # cluster redirections parse "slot host:port"
        except (TypeError, ValueError):
            continue  # classes with required extra arguments
        assert isinstance(translate(exc), StoreError), cls
    assert isinstance(translate(redis_errors.ConnectionError("x")), StoreUnavailableError)
    assert isinstance(translate(redis_errors.TimeoutError("x")), StoreUnavailableError)


def test_entra_token_is_cached_and_refreshed_before_it_expires() -> None:
    now = [1000.0]
    issued: list[int] = []

    def source() -> tuple[str, float]:
        issued.append(1)
        return f"token-{len(issued)}", now[0] + 3600

    provider = EntraTokenCredentialProvider(
        "object-id", source, refresh_margin_s=300, now=lambda: now[0]
    )
    assert provider.get_credentials() == ("object-id", "token-1")
    now[0] += 3000  # 10 minutes left: still valid
    assert provider.get_credentials() == ("object-id", "token-1")
    now[0] += 400  # inside the 5-minute margin: refresh
    assert provider.get_credentials() == ("object-id", "token-2")


async def test_a_retried_append_of_the_same_entry_is_stored_once(
    connection: RedisConnection,
) -> None:
    log = RedisTranscriptLog(connection, ttl_ms=60_000)
    entry = TranscriptEntry(kind="user", text="hello", at_ms=1234.5)
    await log.append("c", entry)
    await log.append("c", entry)  # the reply of the first was lost; the writer retries
    await log.append("c", TranscriptEntry(kind="user", text="hello", at_ms=2000.0))
    assert [e.at_ms for e in await log.read("c")] == [1234.5, 2000.0]
