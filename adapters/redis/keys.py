"""The Redis key schema (documented in ``docs/redis-keys.md``).

One call's keys carry the hash tag ``{<call_id>}`` so Redis Cluster puts them in one slot
(Redis Cluster spec, "Hash tags"); multi-key scripts on one call therefore never cross slots.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeySchema:
    """Builds every key and channel name the Redis adapters use.

    Attributes:
        prefix: First key segment, ``parley`` by default; lets several deployments share a
            Redis database.
    """

    prefix: str = "parley"

    def session(self, call_id: str) -> str:
        """Hash holding a call's serialised session: fields ``v`` (version), ``s`` (JSON)."""
        return f"{self.prefix}:{{{call_id}}}:session"

    def transcript(self, call_id: str) -> str:
        """Stream of a call's transcript entries (one ``e`` field of JSON each)."""
        return f"{self.prefix}:{{{call_id}}}:transcript"

    def transcript_last(self, call_id: str) -> str:
        """String holding the token of the last entry appended (makes retries idempotent)."""
        return f"{self.prefix}:{{{call_id}}}:transcript:last"

    def owner(self, call_id: str) -> str:
        """String holding the id of the instance that owns the call's media stream."""
        return f"{self.prefix}:{{{call_id}}}:owner"

    def channel(self, name: str) -> str:
        """Pub/sub channel name (channels are not keys: they have no slot and no TTL)."""
        return f"{self.prefix}:channel:{name}"
