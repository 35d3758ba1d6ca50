"""One Redis connection pool per process, with TLS and password or Microsoft Entra auth.

The pool is created by :meth:`RedisConnection.start` (a dependency-injector ``Resource`` in
bootstrap, started by the Starlette lifespan) and closed by :meth:`RedisConnection.aclose`;
nothing connects at import or construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.credentials import CredentialProvider

from adapters.redis.errors import redis_call
from ports import StoreUnavailableError

logger = logging.getLogger(__name__)

TokenSource = Callable[[], tuple[str, float]]
"""Returns ``(token, expires_on)``: an access token and its expiry as a Unix time in seconds.

With azure-identity: ``lambda: (t := cred.get_token(scope)).token, t.expires_on`` where the
scope for Azure Cache for Redis is ``https://redis.azure.com/.default``.
"""


class EntraTokenCredentialProvider(CredentialProvider):
    """Redis AUTH with a Microsoft Entra access token, refreshed before it expires.

    Azure Cache for Redis accepts ``AUTH <object id> <access token>`` (docs: "Use Microsoft
    Entra ID for cache authentication"). redis-py asks the provider on every new connection;
    the token is cached and fetched again ``refresh_margin_s`` before ``expires_on``.

    Args:
        username: The Entra object id (or user name) the cache knows the identity by.
        token_source: Fetches a fresh token; called from the connecting task, so it must be
            quick (azure-identity caches tokens itself).
        refresh_margin_s: Refresh this many seconds before expiry.
        now: Wall-clock seconds, injectable for tests.
    """

    def __init__(
        self,
        username: str,
        token_source: TokenSource,
        *,
        refresh_margin_s: float = 300.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._username = username
        self._source = token_source
        self._margin = refresh_margin_s
        self._now = now
        self._token: str | None = None
        self._expires_on = 0.0

    @property
    def expires_on(self) -> float:
        """Unix time in seconds at which the cached token expires (0 before the first)."""
        return self._expires_on

    def get_credentials(self) -> tuple[str, str]:
        """``(username, token)``, fetching a new token when the cached one is near expiry."""
        if self._token is None or self._now() >= self._expires_on - self._margin:
            self._token, self._expires_on = self._source()
        return self._username, self._token

    async def get_credentials_async(self) -> tuple[str, str]:
        """Async form used by ``redis.asyncio``."""
        return self.get_credentials()


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """How to reach Redis.

    Attributes:
        url: ``redis://host:port/db`` or ``rediss://`` for TLS.
        password: Password (Redis AUTH), when not using Entra.
        username: ACL user name (or the Entra object id).
        command_timeout_ms: Deadline for every command, ms.
        connect_timeout_ms: Deadline for a new connection, ms.
        max_connections: Pool size cap.
        tls_ca_file: CA bundle for ``rediss://`` when not the system store.
    """

    url: str = "redis://127.0.0.1:6379/0"
    password: str | None = None
    username: str | None = None
    command_timeout_ms: float = 500.0
    connect_timeout_ms: float = 1000.0
    max_connections: int = 200
    tls_ca_file: str | None = None


class RedisConnection:
    """Owns the process's Redis pool.

    Args:
        config: Connection settings.
        credential_provider: Entra (or other) credentials; overrides ``config.password``.
    """

    def __init__(
        self, config: RedisConfig, *, credential_provider: CredentialProvider | None = None
    ) -> None:
        self.config = config
        self._provider = credential_provider
        self._client: Redis | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def client(self) -> Redis:
        """The pooled client.

        Raises:
            StoreUnavailableError: :meth:`start` has not been called.
        """
        if self._client is None:
            raise StoreUnavailableError("redis connection not started")
        return self._client

    @property
    def timeout_s(self) -> float:
        """Per-command deadline in seconds."""
        return self.config.command_timeout_ms / 1000.0

    async def start(self) -> Redis:
        """Create the pool without connecting.

        The first command connects, so a Redis that is down at start leaves the process up
        and ``/ready`` reporting it.
        """
        cfg = self.config
        kwargs: dict[str, object] = {
            "socket_timeout": cfg.command_timeout_ms / 1000.0,
            "socket_connect_timeout": cfg.connect_timeout_ms / 1000.0,
            "max_connections": cfg.max_connections,
            "decode_responses": False,
            "health_check_interval": 30,
        }
        if self._provider is not None:
            kwargs["credential_provider"] = self._provider
        else:
            if cfg.password:
                kwargs["password"] = cfg.password
            if cfg.username:
                kwargs["username"] = cfg.username
        if cfg.tls_ca_file and cfg.url.startswith("rediss://"):
            kwargs["ssl_ca_certs"] = cfg.tls_ca_file
        self._client = Redis.from_url(cfg.url, **kwargs)  # type: ignore[arg-type]
        if isinstance(self._provider, EntraTokenCredentialProvider):
            self._refresher = asyncio.create_task(
                self._refresh_idle_connections(self._provider), name="redis-token-refresh"
            )
        return self._client

    async def _refresh_idle_connections(self, provider: EntraTokenCredentialProvider) -> None:
        # A connection authenticates once, when it opens; dropping idle connections before the
        # token expires makes the next command reconnect with a fresh token.
        while True:
            wait_s = max(5.0, provider.expires_on - time.time() - 2 * 60.0)
            await asyncio.sleep(wait_s if provider.expires_on else 60.0)
            if self._client is not None:
                await self._client.connection_pool.disconnect(inuse_connections=False)

    async def health_check(self) -> None:
        """PING within the command timeout.

        Raises:
            StoreUnavailableError: Redis did not answer.
        """
        async with redis_call(self.timeout_s):
            await self.client.ping()

    async def aclose(self) -> None:
        """Close the pool and stop token refresh. Idempotent."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
