"""``TranscriptLog`` on Redis: one Stream per call, trimmed and expiring."""

from __future__ import annotations

import json
from dataclasses import asdict

from adapters.redis.connection import RedisConnection
from adapters.redis.errors import redis_call
from adapters.redis.keys import KeySchema
from ports import TranscriptEntry


class RedisTranscriptLog:
    """Implements :class:`ports.TranscriptLog` with ``XADD`` / ``XRANGE``.

    Args:
        connection: The process's Redis pool.
        ttl_ms: Lifetime of a call's stream, refreshed on every append, ms.
        max_len: Approximate cap on entries per call (``XADD MAXLEN ~``): the oldest go first.
        keys: Key schema.
    """

    def __init__(
        self,
        connection: RedisConnection,
        *,
        ttl_ms: int,
        max_len: int = 10_000,
        keys: KeySchema | None = None,
    ) -> None:
        if ttl_ms <= 0:
            raise ValueError("ttl_ms must be positive: every Parley key expires")
        self._conn = connection
        self._ttl_ms = int(ttl_ms)
        self._max_len = max_len
        self._keys = keys or KeySchema()

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Append one entry and refresh the stream's TTL in one round trip.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        key = self._keys.transcript(call_id)
        body = json.dumps(asdict(entry), separators=(",", ":"))
        async with redis_call(self._conn.timeout_s):
            pipe = self._conn.client.pipeline(transaction=True)
            pipe.xadd(key, {"e": body}, maxlen=self._max_len, approximate=True)
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """Every entry in append order.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            rows = await self._conn.client.xrange(self._keys.transcript(call_id), "-", "+")
        return [TranscriptEntry(**json.loads(fields[b"e"])) for _id, fields in rows or () if fields]
