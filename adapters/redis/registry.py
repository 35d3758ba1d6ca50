"""``CallRegistry`` on Redis: the owner of each call, kept alive by heartbeat."""

from __future__ import annotations

from adapters.redis.connection import RedisConnection
from adapters.redis.errors import redis_call
from adapters.redis.keys import KeySchema

# Delete the owner key only if this instance still holds it (no stealing a newer claim).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCallRegistry:
    """Implements :class:`ports.CallRegistry` with one expiring string per call.

    Args:
        connection: The process's Redis pool.
        ttl_ms: How long a claim lives without a heartbeat, ms. The owner should claim again
            every ``ttl_ms / 3`` or so.
        keys: Key schema.
    """

    def __init__(
        self, connection: RedisConnection, *, ttl_ms: int, keys: KeySchema | None = None
    ) -> None:
        if ttl_ms <= 0:
            raise ValueError("ttl_ms must be positive: every Parley key expires")
        self._conn = connection
        self._ttl_ms = int(ttl_ms)
        self._keys = keys or KeySchema()

    async def claim(self, call_id: str, instance_id: str) -> None:
        """Record or refresh the owner (``SET ... PX``).

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            await self._conn.client.set(self._keys.owner(call_id), instance_id, px=self._ttl_ms)

    async def owner(self, call_id: str) -> str | None:
        """The owning instance id, or ``None`` once the claim lapsed.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            raw = await self._conn.client.get(self._keys.owner(call_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def release(self, call_id: str, instance_id: str) -> None:
        """Drop the claim if ``instance_id`` still holds it.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            await self._conn.client.eval(_RELEASE, 1, self._keys.owner(call_id), instance_id)
