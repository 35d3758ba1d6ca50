"""Redis implementations under contract, against a real redis-server on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.redis import (
    RedisCallRegistry,
    RedisConfig,
    RedisConnection,
    RedisEventBus,
    RedisSessionStore,
    RedisTranscriptLog,
)
from parley.contract import (
    CallRegistryCase,
    EventBusCase,
    Failing,
    SessionStoreCase,
    TranscriptLogCase,
)
from ports import StoreUnavailableError
from tests.fixtures.redis_server import RedisServer, free_port

TTL_MS = 300


async def _real_sleep(ms: float) -> None:
    await asyncio.sleep(ms / 1000.0)


@pytest.fixture
async def redis_connections(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[RedisConnection, RedisConnection, RedisConnection]]:
    """A live connection, a second one (another instance), and one to a closed port."""
    live = RedisConnection(RedisConfig(url=redis_server.url))
    peer = RedisConnection(RedisConfig(url=redis_server.url))
    dead = RedisConnection(
        RedisConfig(url=f"redis://127.0.0.1:{free_port()}/0", command_timeout_ms=300)
    )
    for conn in (live, peer, dead):
        await conn.start()
    yield live, peer, dead
    for conn in (live, peer, dead):
        await conn.aclose()


@pytest.fixture
def redis_session_store(
    redis_connections: tuple[RedisConnection, RedisConnection, RedisConnection],
) -> SessionStoreCase:
    live, _, dead = redis_connections
    return SessionStoreCase(
        RedisSessionStore(live, ttl_ms=TTL_MS),
        ttl_ms=TTL_MS,
        advance=_real_sleep,
        failures=[Failing(StoreUnavailableError, RedisSessionStore(dead, ttl_ms=TTL_MS), "down")],
    )


@pytest.fixture
def redis_transcript_log(
    redis_connections: tuple[RedisConnection, RedisConnection, RedisConnection],
) -> TranscriptLogCase:
    live, _, dead = redis_connections
    # MAXLEN ~ trims at the stream's node boundaries, not exactly: no exact bound to test.
    return TranscriptLogCase(
        RedisTranscriptLog(live, ttl_ms=TTL_MS),
        ttl_ms=TTL_MS,
        advance=_real_sleep,
        max_entries=None,
        failures=[Failing(StoreUnavailableError, RedisTranscriptLog(dead, ttl_ms=TTL_MS), "down")],
    )


@pytest.fixture
def redis_call_registry(
    redis_connections: tuple[RedisConnection, RedisConnection, RedisConnection],
) -> CallRegistryCase:
    live, _, dead = redis_connections
    return CallRegistryCase(
        RedisCallRegistry(live, ttl_ms=TTL_MS),
        ttl_ms=TTL_MS,
        advance=_real_sleep,
        failures=[Failing(StoreUnavailableError, RedisCallRegistry(dead, ttl_ms=TTL_MS), "down")],
    )


@pytest.fixture
def redis_event_bus(
    redis_connections: tuple[RedisConnection, RedisConnection, RedisConnection],
) -> EventBusCase:
    live, peer, dead = redis_connections
    return EventBusCase(
        RedisEventBus(live),
        peer=RedisEventBus(peer),
        failures=[Failing(StoreUnavailableError, RedisEventBus(dead), "down")],
    )
