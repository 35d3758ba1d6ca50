"""``TranscriptLog`` on Redis: one Stream per call, trimmed and expiring."""

from __future__ import annotations

import json
from dataclasses import asdict

from redis.commands.core import AsyncScript

from adapters.redis.connection import RedisConnection
from adapters.redis.errors import redis_call
from adapters.redis.keys import KeySchema
from ports import TranscriptEntry

# KEYS[1] stream; ARGV[1] entry JSON, ARGV[2] max length, ARGV[3] TTL ms. Appending is
# idempotent against a retry: when a connection drops after Redis ran the XADD but before the
# reply arrived, the writer retries the same entry, which must not be stored twice. Entries
# carry the recording time in ms, so two genuine entries are never byte-identical.
_APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'e' and fields[i + 1] == ARGV[1] then return 0 end
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Append unless this token was the last one appended: a retry of a write whose reply was lost
# (timeout, connection cut after the server applied it) is not stored twice.
_APPEND_ONCE = """
if redis.call('GET', KEYS[2]) == ARGV[4] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 0
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
return 1
"""


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
        self._append: AsyncScript | None = None

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Append one entry and refresh the stream's TTL in one atomic script.

        Appending the same entry again right after itself (a retry) stores it once.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        body = json.dumps(asdict(entry), separators=(",", ":"))
        if self._append is None:
            self._append = self._conn.client.register_script(_APPEND)
        async with redis_call(self._conn.timeout_s):
            await self._append(
                keys=[self._keys.transcript(call_id)], args=[body, self._max_len, self._ttl_ms]
            )

    async def append_once(self, call_id: str, entry: TranscriptEntry, token: str) -> bool:
        """Append unless ``token`` was the last token appended to this call (one Lua script).

        Writers that retry (the write-behind queue) give each entry a unique token and retry
        with the same one, so an append whose reply was lost is not stored twice.

        Returns:
            False when the entry was already stored.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        body = json.dumps(asdict(entry), separators=(",", ":"))
        async with redis_call(self._conn.timeout_s):
            added = await self._conn.client.eval(
                _APPEND_ONCE,
                2,
                self._keys.transcript(call_id),
                self._keys.transcript_last(call_id),
                body,
                str(self._max_len),
                str(self._ttl_ms),
                token,
            )
        return bool(added)

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """Every entry in append order.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            rows = await self._conn.client.xrange(self._keys.transcript(call_id), "-", "+")
        return [TranscriptEntry(**json.loads(fields[b"e"])) for _id, fields in rows or () if fields]
