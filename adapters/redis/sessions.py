"""``SessionStore`` on Redis: versioned JSON in a hash, compare-and-set by a Lua script."""

from __future__ import annotations

import json

from redis.commands.core import AsyncScript

from adapters.redis.connection import RedisConnection
from adapters.redis.errors import redis_call
from adapters.redis.keys import KeySchema
from ports import JsonObject, StoredSession, VersionConflictError

# KEYS[1] session hash; ARGV[1] expected version ("" = no record), ARGV[2] state JSON,
# ARGV[3] TTL ms. Returns {new_version} or {-1, actual_version_or_""}. One script = one atomic
# step on the server, so two writers can never both succeed from the same version.
_CAS_PUT = """
local current = redis.call('HGET', KEYS[1], 'v')
if current == false then current = '' end
if current ~= ARGV[1] then return {-1, current} end
local version = 1
if current ~= '' then version = tonumber(current) + 1 end
redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {version}
"""


class RedisSessionStore:
    """Implements :class:`ports.SessionStore` with one hash per call.

    Args:
        connection: The process's Redis pool.
        ttl_ms: Lifetime of a session record, refreshed on every write, ms.
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
        self._cas: AsyncScript | None = None

    def _cas_script(self) -> AsyncScript:
        # EVALSHA with a transparent EVAL fallback; bound to the client, so made lazily.
        if self._cas is None:
            self._cas = self._conn.client.register_script(_CAS_PUT)
        return self._cas

    async def get(self, call_id: str) -> StoredSession | None:
        """Latest state, or ``None``.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            version, state = await self._conn.client.hmget(self._keys.session(call_id), ["v", "s"])
        if version is None or state is None:
            return None
        return StoredSession(call_id=call_id, version=int(version), state=json.loads(state))

    async def put(self, call_id: str, state: JsonObject, *, expected_version: int | None) -> int:
        """Compare-and-set write; returns the new version.

        Raises:
            VersionConflictError: The stored version is not ``expected_version``.
            StoreUnavailableError: Redis failed or timed out.
        """
        expected = "" if expected_version is None else str(expected_version)
        payload = json.dumps(state, separators=(",", ":"))
        async with redis_call(self._conn.timeout_s):
            result = await self._cas_script()(
                keys=[self._keys.session(call_id)], args=[expected, payload, self._ttl_ms]
            )
        if int(result[0]) == -1:
            raw = result[1]
            actual = int(raw) if raw not in (b"", "") else None
            raise VersionConflictError(
                f"session {call_id}: expected version {expected_version}, found {actual}",
                expected=expected_version,
                actual=actual,
            )
        return int(result[0])

    async def delete(self, call_id: str) -> None:
        """Remove the record. Idempotent.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            await self._conn.client.delete(self._keys.session(call_id))
