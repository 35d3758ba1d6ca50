"""Logging: call id on every record, secrets never written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bootstrap.logging import call_context, configure_logging

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(level="DEBUG", fmt="json", secrets=[SECRET], stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secret_values_never_reach_the_log(captured: io.StringIO) -> None:
    log = logging.getLogger("parley.test")
    log.info("calling with %s", SECRET)
    log.warning("header Authorization: Bearer %s", SECRET, extra={"detail": f"k={SECRET}"})
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        log.exception("provider failed")
    output = captured.getvalue()
    assert SECRET not in output
    assert output.count("[REDACTED]") >= 4


def test_values_of_sensitive_keys_are_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("parley.test")
    log.info('api_key=abc123 password: hunter2 {"token": "t0k"} Endpoint=x;AccessKey=zz9;')
    log.info("context", extra={"client_secret": "cs-1", "user": "alice"})
    output = captured.getvalue()
    for leaked in ("abc123", "hunter2", "t0k", "zz9", "cs-1"):
        assert leaked not in output
    assert records(captured)[1]["user"] == "alice"


def test_ordinary_text_is_left_alone(captured: io.StringIO) -> None:
    logging.getLogger("parley.test").info("caller said hello at %d ms", 120)
    assert records(captured)[0]["message"] == "caller said hello at 120 ms"


async def test_call_id_is_on_every_record_of_the_call_and_its_tasks(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("parley.test")

    async def worker() -> None:
        log.info("in a task")

    log.info("before")
    with call_context("call-42"):
        log.info("inside")
        await asyncio.create_task(worker())
        await asyncio.to_thread(log.info, "in a thread")
    log.info("after")
    ids = [r["call_id"] for r in records(captured) if r["logger"] == "parley.test"]
    assert ids == ["-", "call-42", "call-42", "call-42", "-"]


def test_configuring_twice_keeps_one_handler() -> None:
    first = configure_logging(stream=io.StringIO())
    second = configure_logging(stream=io.StringIO(), fmt="text")
    root = logging.getLogger()
    try:
        assert first not in root.handlers
        assert sum(1 for h in root.handlers if h.get_name() == "parley") == 1
    finally:
        root.removeHandler(second)


def test_text_format_shows_the_call_id() -> None:
    stream = io.StringIO()
    handler = configure_logging(stream=stream, fmt="text")
    try:
        with call_context("abc"):
            logging.getLogger("parley.test").info("hello")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "[abc] hello" in stream.getvalue()


JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"
    ".eyJhdWQiOiJhY3MiLCJpc3MiOiJodHRwczovL2Fjcy5leGFtcGxlIn0"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


def test_authorization_headers_bearer_tokens_and_jwts_are_redacted(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("websockets.server")
    log.debug("< authorization: Bearer %s", JWT)
    log.debug("< Authorization: Basic dXNlcjpwYXNzd29yZA==")
    log.debug("scope headers %r", [(b"authorization", f"Bearer {JWT}".encode())])
    log.debug('{"Authorization": "Bearer opaque-token-value-123"}')
    log.info("token in a url ws://h/ws?access=%s and loose bearer abcdefgh12345678", JWT)
    output = captured.getvalue()
    for leaked in (JWT, "eyJhbGci", "dXNlcjpwYXNzd29yZA", "opaque-token-value", "abcdefgh1234"):
        assert leaked not in output
    assert output.count("[REDACTED]") >= 6


def test_words_near_authorization_in_prose_stay_readable(captured: io.StringIO) -> None:
    logging.getLogger("parley.test").info("call %s refused: token expired", "c-1")
    assert records(captured)[0]["message"] == "call c-1 refused: token expired"
