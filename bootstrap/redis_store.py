"""``PARLEY_STORE=redis``: the Redis stores, behind write-behind wrappers.

The session store and the transcript log are wrapped so a Redis outage never blocks or fails
a live call (see :mod:`adapters.resilience.write_behind`); the call registry and event bus go
straight to Redis (routing a callback needs the live answer). Nothing connects here until the
first command, so a Redis that is down at start leaves the process up with ``/ready`` saying
``store`` failed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from bootstrap.factories import BuildContext, Stores

logger = logging.getLogger(__name__)

_ENTRA_SCOPE = "https://redis.azure.com/.default"


@contextlib.asynccontextmanager
async def redis_stores(ctx: BuildContext) -> AsyncIterator[Stores]:
    """Open the process's Redis pool and yield the four storage ports; close on exit."""
    from adapters.redis import (
        EntraTokenCredentialProvider,
        KeySchema,
        RedisCallRegistry,
        RedisConfig,
        RedisConnection,
        RedisEventBus,
        RedisSessionStore,
        RedisTranscriptLog,
    )
    from adapters.resilience import WriteBehindSessionStore, WriteBehindTranscriptLog

    cfg = ctx.settings.redis
    provider = None
    credential = None
    if cfg.entra:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()

        def token_source() -> tuple[str, float]:
            token = credential.get_token(_ENTRA_SCOPE)
            return token.token, float(token.expires_on)

        provider = EntraTokenCredentialProvider(cfg.username, token_source)
    connection = RedisConnection(
        RedisConfig(
            url=cfg.url.get_secret_value(),
            password=cfg.password.get_secret_value() if cfg.password else None,
            username=cfg.username or None,
            command_timeout_ms=cfg.timeout_ms,
            connect_timeout_ms=cfg.connect_timeout_ms,
            tls_ca_file=cfg.tls_ca_file or None,
        ),
        credential_provider=provider,
    )
    keys = KeySchema(cfg.key_prefix)
    await connection.start()
    sessions = WriteBehindSessionStore(
        RedisSessionStore(connection, ttl_ms=cfg.session_ttl_ms, keys=keys)
    )
    transcripts = WriteBehindTranscriptLog(
        RedisTranscriptLog(
            connection,
            ttl_ms=cfg.transcript_ttl_ms,
            max_len=cfg.transcript_max_len,
            keys=keys,
        ),
        max_pending=cfg.write_behind_max,
    )
    sessions.start()
    transcripts.start()
    try:
        yield Stores(
            sessions=sessions,
            transcripts=transcripts,
            call_registry=RedisCallRegistry(connection, ttl_ms=cfg.registry_ttl_ms, keys=keys),
            event_bus=RedisEventBus(connection, keys=keys),
        )
    finally:
        await transcripts.aclose()
        await sessions.aclose()
        await connection.aclose()
        if credential is not None:
            credential.close()
