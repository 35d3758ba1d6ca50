"""Retry of transient provider failures for request/response adapters (ACS, Twilio).

One :class:`TransientRetry` per adapter: every operation gets a per-try timeout, the adapter's
own translation of SDK errors into port errors, and tenacity's retry of the transient ones
(exponential backoff with jitter, bounded by a number of tries and a deadline).

Why a template copied per request rather than one shared ``AsyncRetrying``: tenacity keeps a
retry's progress (``statistics``, ``iter_state``) on the retrying object in a
``threading.local``, which every coroutine of the event loop's thread shares, so two
concurrent requests on one object would overwrite each other's state; its own decorator
copies the object per call for that reason (tenacity ``asyncio/__init__.py``,
``AsyncRetrying.wraps``: "Always create a copy to prevent overwriting the local contexts").
The stop, wait and retry strategies are stateless and built once; each request runs a
``copy()`` through ``AsyncRetrying.__call__`` (the retry state stays a local there, where
``async for`` stores it on the object) and resets the copy's ``iter_state`` afterwards, whose
actions are bound methods of the copy: without that, every request left a reference cycle of
~18 objects for the garbage collector (35 with the former ``async for`` over a new object).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from ports import ProviderError, ProviderTimeoutError, ProviderUnavailableError, RateLimitedError

logger = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_ERRORS: Final = (ProviderTimeoutError, ProviderUnavailableError, RateLimitedError)
"""Port errors worth retrying."""


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Retry of transient failures.

    Attributes:
        attempts: Most tries in all, including the first.
        deadline_s: No new try starts after this many seconds from the first.
        initial_backoff_s: First wait; doubles each try, with jitter.
        max_backoff_s: Longest single wait.
        op_timeout_s: Timeout of one try, seconds.
    """

    attempts: int = 4
    deadline_s: float = 10.0
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0
    op_timeout_s: float = 10.0


async def run_retrying(
    template: AsyncRetrying, op: Callable[[], Awaitable[T]], **changes: Any
) -> T:
    """Run ``op()`` under a copy of ``template``, leaving no reference cycle behind.

    Use for retries whose ``template`` is built once and shared by concurrent callers (see
    the module docstring for why a copy, and why the reset).

    Args:
        template: The retry's strategies (never run itself).
        op: Starts one try.
        **changes: Strategies of this request only (``AsyncRetrying.copy`` arguments, e.g. a
            ``wait`` bound to the request's deadline).

    Returns:
        What ``op()`` returned.

    Raises:
        Exception: What the template re-raises (the last try's error with ``reraise=True``).
    """
    retrying = template.copy(**changes)
    try:
        result: T = await retrying(op)
        return result
    finally:
        retrying.iter_state.reset()  # its actions hold the copy: break the cycle now


class TransientRetry:
    """Runs provider operations with a timeout per try, retrying transient port errors.

    Args:
        config: Tries, deadline, backoff and per-try timeout.
        provider: Name in log lines (``"ACS"``, ``"Twilio"``).
        sdk_errors: Exceptions of the SDK (and ``TimeoutError``) that ``translate`` maps;
            anything else propagates as it is.
        translate: Maps one of ``sdk_errors`` to the port error it means.
        quiet_codes: Port error codes logged at DEBUG rather than WARNING (routine failures,
            such as stopping a recording of a call that has ended).
    """

    def __init__(
        self,
        config: RetryConfig,
        *,
        provider: str,
        sdk_errors: tuple[type[BaseException], ...],
        translate: Callable[[BaseException], ProviderError],
        quiet_codes: Collection[str] = (),
    ) -> None:
        self.config = config
        self._provider = provider
        self._sdk_errors = sdk_errors
        self._translate = translate
        self._quiet = frozenset(quiet_codes)
        self._template = AsyncRetrying(
            stop=stop_after_attempt(config.attempts) | stop_after_delay(config.deadline_s),
            wait=wait_exponential_jitter(
                multiplier=config.initial_backoff_s, max=config.max_backoff_s
            ),
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            reraise=True,
        )

    async def __call__(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op()`` until it succeeds, fails for good, or the tries or deadline run out.

        Args:
            what: The operation's name in log lines (``"answer"``, ``"hang_up"``).
            op: Starts one try (called again for every retry).

        Returns:
            What ``op()`` returned.

        Raises:
            ProviderError: The translated error of the last try (a transient one once the
                tries or the deadline ran out; any other at once).
        """
        retrying = self._template.copy()
        try:
            result: T = await retrying(self._try, what, op, retrying)
            return result
        finally:
            retrying.iter_state.reset()  # its actions hold the copy: break the cycle now

    async def _try(self, what: str, op: Callable[[], Awaitable[T]], retrying: AsyncRetrying) -> T:
        try:
            async with asyncio.timeout(self.config.op_timeout_s):
                return await op()
        except ProviderError:
            raise
        except self._sdk_errors as exc:
            error = self._translate(exc)
            log = logger.debug if error.code in self._quiet else logger.warning
            log(
                "%s %s failed (try %d): %s",
                self._provider,
                what,
                retrying.statistics.get("attempt_number", 1),
                error.code,
            )
            try:
                raise error from exc
            finally:
                del error  # its traceback holds this frame: no cycle through the local
