"""Redis adapters: session state, transcripts, the call registry and the event bus.

Backed by ``redis.asyncio`` (install with ``pip install 'parley[redis]'``). Key schema and
expiry rules: ``docs/redis-keys.md``. Every key has a TTL; one call's keys share a Cluster hash
slot through the ``{<call_id>}`` hash tag.
"""

try:
    import redis.asyncio  # noqa: F401  (fail here, with a hint, rather than deep in a call)
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "The Redis adapters need the 'redis' package: pip install 'parley[redis]'"
    ) from exc

from adapters.redis.bus import RedisEventBus
from adapters.redis.connection import (
    EntraTokenCredentialProvider,
    RedisConfig,
    RedisConnection,
)
from adapters.redis.keys import KeySchema
from adapters.redis.registry import RedisCallRegistry
from adapters.redis.sessions import RedisSessionStore
from adapters.redis.transcripts import RedisTranscriptLog

__all__ = [
    "EntraTokenCredentialProvider",
    "KeySchema",
    "RedisCallRegistry",
    "RedisConfig",
    "RedisConnection",
    "RedisEventBus",
    "RedisSessionStore",
    "RedisTranscriptLog",
]
