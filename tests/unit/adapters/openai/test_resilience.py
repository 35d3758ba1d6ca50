"""Retries before the first token only, the three timeouts, and cancellation on barge-in."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from adapters.openai import (
    ModelTimeouts,
    OpenAIClient,
    OpenAILanguageModel,
    RetryPolicy,
    create_client,
)
from ports import (
    AuthenticationError,
    ModelOptions,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    ResponseDone,
    TextDelta,
)
from tests.emulators.openai_standin import OpenAIStandin, Reply, rate_limited, server_error

from .conftest import azure_config, make_model
from .helpers import HISTORY, collect, text_of

pytestmark = pytest.mark.standin

# How long the stand-in (another thread) may take to notice a hang-up: a functional bound
# (it does notice), generous because test machines run loaded; not a latency figure.
GRACE_S = 5.0


async def test_429_is_retried_after_the_retry_after_seconds(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(rate_limited(0.3), Reply(text="hello"))
    started = time.monotonic()

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert time.monotonic() - started >= 0.3
    assert text_of(events) == "hello"
    assert len(standin.requests) == 2


async def test_429_retry_after_ms_is_honoured(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(rate_limited(0.25, in_ms=True), Reply(text="hello"))
    started = time.monotonic()

    await collect(model.stream(HISTORY, (), ModelOptions()))

    assert time.monotonic() - started >= 0.25
    assert len(standin.requests) == 2


async def test_5xx_is_retried_then_the_answer_streams(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(server_error(500), server_error(503), Reply(text="back"))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert text_of(events) == "back"
    assert len(standin.requests) == 3


async def test_rate_limit_after_every_attempt_raises_rate_limited_with_retry_after(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(*(rate_limited(0.01) for _ in range(3)))

    with pytest.raises(RateLimitedError) as caught:
        await collect(model.stream(HISTORY, (), ModelOptions()))

    assert caught.value.retry_after_s == pytest.approx(0.01)
    assert len(standin.requests) == 3


async def test_retry_after_beyond_the_cap_is_not_waited_for(
    azure_client: OpenAIClient, standin: OpenAIStandin
) -> None:
    model = make_model(azure_client, retry=RetryPolicy(max_retry_after_s=1.0))
    standin.script(rate_limited(30), Reply(text="never"))
    started = time.monotonic()

    with pytest.raises(RateLimitedError) as caught:
        await collect(model.stream(HISTORY, (), ModelOptions()))

    assert time.monotonic() - started < 10.0  # it did not wait the 30 s asked for
    assert caught.value.retry_after_s == 30
    assert len(standin.requests) == 1


async def test_retry_after_past_the_first_token_deadline_raises_rate_limited_at_once(
    azure_client: OpenAIClient, standin: OpenAIStandin
) -> None:
    model = make_model(azure_client, timeouts=ModelTimeouts(first_token_s=1.0, total_s=5.0))
    standin.script(rate_limited(3.0), Reply(text="never"))

    with pytest.raises(RateLimitedError) as caught:
        await collect(model.stream(HISTORY, (), ModelOptions()))

    assert caught.value.retry_after_s == 3.0
    assert len(standin.requests) == 1


async def test_disconnect_before_the_first_token_is_retried(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="lost", disconnect_after=0), Reply(text="second try"))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert text_of(events) == "second try"
    assert len(standin.requests) == 2


async def test_disconnect_after_tokens_flowed_ends_the_response_with_an_error_and_no_retry(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="abcdefghijkl", chunk_chars=2, disconnect_after=3), Reply(text="x"))
    seen: list[str] = []

    with pytest.raises(ProviderUnavailableError):
        async for event in model.stream(HISTORY, (), ModelOptions()):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    assert seen == ["ab", "cd", "ef"]
    assert len(standin.requests) == 1


async def test_malformed_chunk_after_tokens_ends_the_response_with_an_error(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="abcdefgh", malformed_after=1), Reply(text="x"))

    with pytest.raises(ProviderUnavailableError, match="not JSON"):
        await collect(model.stream(HISTORY, (), ModelOptions()))
    assert len(standin.requests) == 1


async def test_malformed_chunk_before_the_first_token_is_retried(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="abcdefgh", malformed_after=0), Reply(text="clean"))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert text_of(events) == "clean"


async def test_refused_key_is_not_retried(standin: OpenAIStandin) -> None:
    client = create_client(azure_config(standin, api_key="wrong"))
    try:
        with pytest.raises(AuthenticationError):
            await collect(make_model(client).stream(HISTORY, (), ModelOptions()))
    finally:
        await client.aclose()
    assert standin.rejected == 1


async def test_sdk_retries_are_off_so_tenacity_is_the_only_retry_layer(
    azure_client: OpenAIClient,
) -> None:
    assert azure_client.sdk.max_retries == 0


async def test_first_token_timeout_fires(
    azure_client: OpenAIClient, standin: OpenAIStandin
) -> None:
    model = make_model(azure_client, timeouts=ModelTimeouts(first_token_s=0.2, total_s=5.0))
    standin.script(Reply(text="late", first_token_delay_s=30.0))
    started = time.monotonic()

    with pytest.raises(ProviderTimeoutError, match="first-token"):
        await collect(model.stream(HISTORY, (), ModelOptions()))

    assert time.monotonic() - started < 10.0  # it did not wait for the 30 s token
    assert standin.requests[0].disconnected.wait(GRACE_S)


async def test_total_timeout_fires_mid_stream(
    azure_client: OpenAIClient, standin: OpenAIStandin
) -> None:
    model = make_model(azure_client, timeouts=ModelTimeouts(first_token_s=1.0, total_s=0.3))
    standin.script(Reply(text="slow " * 40, chunk_chars=5, chunk_delay_s=0.05))
    seen = 0

    with pytest.raises(ProviderTimeoutError, match="longer than"):
        async for event in model.stream(HISTORY, (), ModelOptions()):
            seen += isinstance(event, TextDelta)

    assert 0 < seen < 40
    assert standin.requests[0].disconnected.wait(GRACE_S)


async def test_connect_timeout_is_the_clients_httpx_connect_timeout(
    standin: OpenAIStandin,
) -> None:
    client = create_client(azure_config(standin, connect_timeout_s=0.25, read_timeout_s=7.0))
    try:
        timeout = client.sdk.timeout
        assert (timeout.connect, timeout.read) == (0.25, 7.0)  # type: ignore[union-attr]
    finally:
        await client.aclose()


async def test_unreachable_endpoint_raises_unavailable_after_retries(
    standin: OpenAIStandin,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = create_client(azure_config(standin, endpoint=f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(ProviderUnavailableError):
            await collect(make_model(client).stream(HISTORY, (), ModelOptions()))
    finally:
        await client.aclose()


async def test_closing_the_stream_closes_the_http_response_and_reads_no_more_tokens(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="word " * 200, chunk_chars=5, chunk_delay_s=0.05))
    stream = model.stream(HISTORY, (), ModelOptions())
    for _ in range(3):
        assert isinstance(await anext(stream), TextDelta)

    await stream.aclose()

    record = standin.requests[0]
    assert record.disconnected.wait(GRACE_S)
    sent = record.deltas_sent
    await asyncio.sleep(0.1)
    assert record.deltas_sent == sent < 100  # of 200: the stream stopped, not ran out
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_cancelling_the_consuming_task_closes_the_http_response(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="word " * 200, chunk_chars=5, chunk_delay_s=0.05))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in model.stream(HISTORY, (), ModelOptions()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert standin.requests[0].disconnected.wait(GRACE_S)
    assert standin.requests[0].deltas_sent < 100


async def test_a_response_that_finishes_is_not_seen_as_a_disconnect(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="short"))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert events[-1] == ResponseDone("stop")
    assert standin.requests[0].finished.wait(GRACE_S)
    assert not standin.requests[0].disconnected.is_set()
