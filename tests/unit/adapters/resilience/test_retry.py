"""The shared retry of provider requests (ACS call control and recording, Twilio)."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from adapters.resilience.retry import RetryConfig, TransientRetry, run_retrying
from ports import ProviderError, ProviderTimeoutError, ProviderUnavailableError

FAST = RetryConfig(attempts=3, deadline_s=5.0, initial_backoff_s=0.001, max_backoff_s=0.002)


class SdkDown(Exception):
    """What a fake SDK raises when its service is unreachable (transient)."""


class SdkRefused(Exception):
    """What a fake SDK raises for a request the service refuses (not transient)."""


def translate(exc: BaseException) -> ProviderError:
    if isinstance(exc, SdkDown):
        return ProviderUnavailableError("down", port="fake")
    if isinstance(exc, TimeoutError):
        return ProviderTimeoutError("slow", port="fake")
    return ProviderError("refused", port="fake")


def make_retry(config: RetryConfig = FAST, **kwargs: object) -> TransientRetry:
    return TransientRetry(
        config,
        provider="Fake",
        sdk_errors=(SdkDown, SdkRefused, TimeoutError),
        translate=translate,
        **kwargs,  # type: ignore[arg-type]
    )


def flaky(failures: int, result: str) -> tuple[list[int], object]:
    tries: list[int] = []

    async def op() -> str:
        tries.append(1)
        await asyncio.sleep(0)
        if len(tries) <= failures:
            raise SdkDown
        return result

    return tries, op


async def test_a_transient_failure_is_retried_until_the_request_succeeds() -> None:
    tries, op = flaky(2, "ok")
    assert await make_retry()("answer", op) == "ok"  # type: ignore[arg-type]
    assert len(tries) == 3


async def test_a_transient_failure_on_every_try_raises_the_port_error() -> None:
    tries, op = flaky(10, "never")
    with pytest.raises(ProviderUnavailableError) as raised:
        await make_retry()("answer", op)  # type: ignore[arg-type]
    assert len(tries) == FAST.attempts
    assert isinstance(raised.value.__cause__, SdkDown)


async def test_a_refusal_is_translated_and_not_retried() -> None:
    tries: list[int] = []

    async def op() -> None:
        tries.append(1)
        raise SdkRefused

    with pytest.raises(ProviderError, match="refused"):
        await make_retry()("hang_up", op)
    assert len(tries) == 1


async def test_a_try_that_hangs_times_out_and_is_retried() -> None:
    calls: list[int] = []

    async def op() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(60)
        return "ok"

    config = RetryConfig(
        attempts=2, deadline_s=5.0, initial_backoff_s=0.001, max_backoff_s=0.002, op_timeout_s=0.05
    )
    assert await make_retry(config)("answer", op) == "ok"


async def test_concurrent_requests_on_one_retry_keep_their_own_tries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = make_retry()
    first_tries, first = flaky(2, "first")
    second_tries, second = flaky(1, "second")
    with caplog.at_level(logging.WARNING, logger="adapters.resilience.retry"):
        results = await asyncio.gather(
            retry("answer", first),  # type: ignore[arg-type]
            retry("transfer", second),  # type: ignore[arg-type]
        )
    assert results == ["first", "second"]
    assert (len(first_tries), len(second_tries)) == (3, 2)
    logged = sorted(r.getMessage() for r in caplog.records)
    assert logged == [
        "Fake answer failed (try 1): unavailable",
        "Fake answer failed (try 2): unavailable",
        "Fake transfer failed (try 1): unavailable",
    ]


async def test_quiet_codes_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    async def op() -> None:
        raise SdkRefused

    with (
        caplog.at_level(logging.DEBUG, logger="adapters.resilience.retry"),
        pytest.raises(ProviderError),
    ):
        await make_retry(quiet_codes=("provider_error",))("stop", op)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def _tenacity_objects() -> int:
    modules = (getattr(type(o), "__module__", "") for o in gc.get_objects())
    return sum(1 for m in modules if isinstance(m, str) and m.startswith("tenacity"))


async def test_a_finished_request_leaves_nothing_for_the_garbage_collector(
    collector_off: None,
) -> None:
    retry = make_retry()
    _, op = flaky(0, "ok")
    await retry("answer", op)  # type: ignore[arg-type]  # warm-up
    before = _tenacity_objects()
    for n in range(20):
        _, op = flaky(n % 2, "ok")  # every other request is retried once
        assert await retry("answer", op) == "ok"  # type: ignore[arg-type]
    assert _tenacity_objects() == before


async def test_a_shared_template_runs_each_request_on_its_own_copy(collector_off: None) -> None:
    template = AsyncRetrying(
        stop=stop_after_attempt(3), retry=retry_if_exception_type(SdkDown), reraise=True
    )
    waits: list[float] = []

    def wait(state: RetryCallState) -> float:
        waits.append(state.attempt_number)
        return 0.0

    _, op = flaky(0, "ok")
    await run_retrying(template, op)  # type: ignore[arg-type]  # warm-up
    before = _tenacity_objects()
    results = await asyncio.gather(
        *(run_retrying(template, flaky(n % 3, n)[1], wait=wait) for n in range(6))  # type: ignore[arg-type]
    )
    assert results == list(range(6))
    assert sorted(waits) == [1, 1, 1, 1, 2, 2]
    assert _tenacity_objects() == before
