"""Translation of redis-py exceptions into port errors, most specific first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors

from ports import StoreError, StoreUnavailableError

# Order matters: subclasses before their bases (redis TimeoutError is not a ConnectionError).
ERROR_MAP: tuple[tuple[type[BaseException], type[StoreError]], ...] = (
    (redis_errors.AuthenticationError, StoreUnavailableError),
    (redis_errors.TimeoutError, StoreUnavailableError),
    (redis_errors.ConnectionError, StoreUnavailableError),
    (redis_errors.BusyLoadingError, StoreUnavailableError),
    (redis_errors.ReadOnlyError, StoreUnavailableError),
    (redis_errors.ClusterDownError, StoreUnavailableError),
    (redis_errors.TryAgainError, StoreUnavailableError),
    (redis_errors.RedisError, StoreError),
    (TimeoutError, StoreUnavailableError),
    (OSError, StoreUnavailableError),
)


def translate(exc: BaseException) -> StoreError | None:
    """The port error for ``exc``, or ``None`` when it is not a Redis or socket failure."""
    for source, target in ERROR_MAP:
        if isinstance(exc, source):
            return target(f"redis: {type(exc).__name__}: {exc}")
    return None


@asynccontextmanager
async def redis_call(timeout_s: float) -> AsyncIterator[None]:
    """Run a block of Redis commands under a deadline, translating failures.

    Args:
        timeout_s: Deadline for the whole block in seconds.

    Raises:
        StoreUnavailableError: Redis is unreachable, refused us, or the deadline passed.
        StoreError: Any other Redis error.
    """
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (redis_errors.RedisError, TimeoutError, OSError) as exc:
        port_error = translate(exc)
        assert port_error is not None  # noqa: S101 - every caught type is in ERROR_MAP
        raise port_error from exc
