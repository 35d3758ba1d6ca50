"""Browser tokens, operator authentication and the live-call registry, without a server."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from adapters.http.browser_auth import BrowserAuthError, BrowserTokens
from adapters.http.live_calls import LiveCallRegistry, ObservedHandler
from adapters.http.operator_auth import operator_denied
from adapters.memory import FakeMediaStream
from ports import CallInfo, CallSummary, ConversationUpdate, InboundCall, UpdateKind

SECRET = b"unit-test-secret-of-at-least-32-bytes"


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


class TestBrowserTokens:
    def test_an_issued_token_verifies_until_it_expires(self) -> None:
        clock = Clock()
        tokens = BrowserTokens(SECRET, ttl_s=60, clock=clock)
        token = tokens.issue()
        clock.now += 59
        tokens.verify(token)
        clock.now += 1
        with pytest.raises(BrowserAuthError) as expired:
            tokens.verify(token)
        assert expired.value.code == "token_expired"

    @pytest.mark.parametrize(
        ("token", "code"),
        [(None, "token_missing"), ("", "token_missing"), ("a.b.c", "token_invalid")],
    )
    def test_missing_and_malformed_tokens_are_refused(self, token: str | None, code: str) -> None:
        with pytest.raises(BrowserAuthError) as refused:
            BrowserTokens(SECRET).verify(token)
        assert refused.value.code == code

    def test_a_token_signed_by_another_secret_is_refused(self) -> None:
        other = BrowserTokens(b"x" * 32).issue()
        with pytest.raises(BrowserAuthError, match="not valid"):
            BrowserTokens(SECRET).verify(other)

    def test_a_short_secret_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            BrowserTokens(b"short")


class TestOperatorDenied:
    def test_no_configured_key_disables_the_operator_api_with_503(self) -> None:
        denied = operator_denied(_request("Bearer anything"), None)
        assert denied is not None and denied.status_code == 503
        assert operator_denied(_request("Bearer anything"), "") is not None

    @pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic a2V5", "Bearer "])
    def test_a_missing_or_wrong_token_gets_401_with_www_authenticate(
        self, header: str | None
    ) -> None:
        denied = operator_denied(_request(header), "the-key")
        assert denied is not None and denied.status_code == 401
        assert denied.headers["WWW-Authenticate"].startswith("Bearer")

    def test_the_right_token_is_allowed(self) -> None:
        assert operator_denied(_request("Bearer the-key"), "the-key") is None
        assert operator_denied(_request("bearer the-key"), "the-key") is None


class TestLiveCallRegistry:
    def test_turns_latency_and_agent_are_tracked_from_updates(self) -> None:
        wall, mono = Clock(), Clock(50.0)
        registry = LiveCallRegistry(clock=wall, monotonic=mono)
        call = registry.begin("c1", "browser", "alice")
        registry.record(call, ConversationUpdate(UpdateKind.TRANSCRIPT_FINAL, "hi"))
        mono.now += 0.25
        registry.record(call, ConversationUpdate(UpdateKind.AGENT_TEXT, "Hello", agent="fraud"))
        wall.now += 3
        [row] = registry.calls()
        assert row["turns"] == 1
        assert row["last_latency_ms"] == 250.0
        assert row["agent"] == "fraud"
        assert row["duration_s"] == 3.0
        assert [e["seq"] for e in call.events] == [0, 1]

    def test_a_resumed_message_is_not_taken_for_the_reply(self) -> None:
        mono = Clock(0.0)
        registry = LiveCallRegistry(monotonic=mono)
        call = registry.begin("c1", "browser", "")
        registry.record(call, ConversationUpdate(UpdateKind.AGENT_TEXT, "Thank you for"))
        registry.record(call, ConversationUpdate(UpdateKind.TRANSCRIPT_FINAL, "balance"))
        mono.now += 2.0
        registry.record(call, ConversationUpdate(UpdateKind.AGENT_TEXT, "calling."))  # resumed
        registry.record(call, ConversationUpdate(UpdateKind.AGENT_MESSAGE, "Thank you..."))
        mono.now += 0.5
        registry.record(call, ConversationUpdate(UpdateKind.AGENT_TEXT, "Your balance"))
        assert registry.calls()[0]["last_latency_ms"] == 2500.0

    def test_ended_calls_are_kept_a_while_then_forgotten(self) -> None:
        registry = LiveCallRegistry(keep_ended=2)
        for n in range(3):
            registry.begin(f"c{n}", "acs", "")
            registry.end(f"c{n}", "hang_up")
        assert [c["call_id"] for c in registry.calls()] == ["c2", "c1"]
        assert registry.get("c0") is None
        assert registry.get("c2") is not None


class Echo:
    """A handler that reports one update and returns."""

    def __init__(self, registry: LiveCallRegistry) -> None:
        self.registry = registry
        self.seen_live: list[bool] = []

    async def handle_call(self, call: InboundCall) -> CallSummary:
        self.seen_live.append(bool(self.registry.calls()[0]["live"]))
        assert call.observer is not None
        call.observer.on_update(ConversationUpdate(UpdateKind.TRANSCRIPT_FINAL, "hello"))
        return CallSummary(call_id=call.info.call_id, end_reason="hang_up")


class Recorder:
    def __init__(self) -> None:
        self.updates: list[ConversationUpdate] = []

    def on_update(self, update: ConversationUpdate) -> None:
        self.updates.append(update)


async def test_the_observed_handler_registers_the_call_and_keeps_the_callers_observer() -> None:
    registry = LiveCallRegistry()
    inner = Echo(registry)
    recorder = Recorder()
    call = InboundCall(
        CallInfo("c9", channel="browser"), media=FakeMediaStream(), observer=recorder
    )
    summary = await ObservedHandler(inner, registry).handle_call(call)
    assert summary.end_reason == "hang_up"
    assert inner.seen_live == [True]
    assert [u.text for u in recorder.updates] == ["hello"]
    [row] = registry.calls()
    assert (row["live"], row["end_reason"], row["turns"]) == (False, "hang_up", 1)
