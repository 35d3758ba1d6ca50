"""Realtime model implementations under contract: the fake, Voice Live and OpenAI Realtime.

Each fixture returns a :class:`RealtimeCase`: the model plus what the suite cannot do through
the port (script what the caller is heard saying and what the model answers, slow a response
down, drop the socket, send a rate-limit error or garbage, read what the service recorded).
Voice Live and OpenAI run the real SDKs against ``tests/emulators/realtime_standin.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from openai import AsyncOpenAI

from adapters.memory.realtime import FakeRealtimeModel, FakeRealtimeSession, FakeReply
from ports import ProviderUnavailableError, RateLimitedError, ToolCall
from ports.realtime import RealtimeModel, RealtimeSession
from tests.emulators.realtime_standin import (
    API_KEY,
    BEARER,
    Faults,
    RealtimeStandin,
    Reply,
    ScriptedResponder,
    running_realtime_standin,
)
from tests.emulators.speech_engines import ScriptedTranscriber


@dataclass
class RealtimeCase:
    """One implementation and its controls.

    Attributes:
        model: The model under test.
        script: ``script(heard, replies)``: caller items are transcribed as ``heard`` in order;
            responses answer ``replies`` (``(text, ((name, args), ...))``) in order.
        slow: Make responses stream at about real time (cancellation tests).
        drop: Drop the session's connection (the service side), as a network drop or expiry.
        rate_limit: Make the next ``create_response`` fail with a rate-limit error event.
        garbage: Send malformed and unknown server messages; None when it cannot.
        bad_key: A model with refused credentials; None when there are none.
        refuse: Make the next connect fail (service unavailable).
        truncations: Truncations the service recorded, ``(item_id, audio_end_ms)``.
        tool_outputs: Function call outputs the service holds, ``(call_id, output)``.
    """

    model: RealtimeModel
    script: Callable[[list[str], list[tuple[str, tuple[tuple[str, dict[str, Any]], ...]]]], None]
    slow: Callable[[], None]
    drop: Callable[[RealtimeSession], None]
    rate_limit: Callable[[RealtimeSession], None]
    refuse: Callable[[], None]
    truncations: Callable[[], list[tuple[str, int]]]
    tool_outputs: Callable[[], list[tuple[str, str]]]
    garbage: Callable[[RealtimeSession], None] | None = None
    bad_key: RealtimeModel | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def fake_realtime() -> RealtimeCase:
    model = FakeRealtimeModel()

    def script(heard: list[str], replies: list[Any]) -> None:
        model._transcripts[:] = list(heard)  # noqa: SLF001 (the fake's own script)
        model._replies[:] = [  # noqa: SLF001
            FakeReply(text, tuple(ToolCall(f"call_{i}", n, a) for i, (n, a) in enumerate(calls)))
            for text, calls in replies
        ]

    def slow() -> None:
        model.chunk_delay_s = 0.1

    def fake(session: RealtimeSession) -> FakeRealtimeSession:
        assert isinstance(session, FakeRealtimeSession)
        return session

    def refuse() -> None:
        model.open_error = ProviderUnavailableError("refused", port="realtime")

    def recorded(kind: str) -> list[Any]:
        return [p for s in model.sessions for k, p in s.requests if k == kind]

    return RealtimeCase(
        model,
        script,
        slow,
        drop=lambda session: fake(session).drop("session_expired"),
        rate_limit=lambda session: fake(session).error(
            RateLimitedError("rate limited", port="realtime")
        ),
        refuse=refuse,
        truncations=lambda: [tuple(p) for p in recorded("truncate")],
        tool_outputs=lambda: [tuple(p) for p in recorded("tool_output")],
    )


@pytest.fixture(scope="module")
def realtime_standin_server() -> Iterator[RealtimeStandin]:
    with running_realtime_standin(RealtimeStandin()) as standin:
        yield standin


def _standin_case(
    standin: RealtimeStandin, model: RealtimeModel, bad: RealtimeModel
) -> RealtimeCase:
    standin.faults = Faults()
    standin.speed = 0.0
    standin.sessions.clear()

    def script(heard: list[str], replies: list[Any]) -> None:
        standin.transcriber = ScriptedTranscriber(heard)
        standin.responder = ScriptedResponder([Reply(text, calls) for text, calls in replies])

    def last() -> Any:
        return standin.sessions[-1]

    def slow() -> None:
        standin.speed = 1.0

    def rate_limit(session: RealtimeSession) -> None:
        standin.faults.rate_limit_next = True

    def refuse() -> None:
        standin.faults.refuse = True

    def garbage(session: Any) -> None:
        standin.send_raw(session, "this is not json")
        standin.send_raw(session, '{"type": "response.future_event", "x": 1}')
        standin.send_raw(session, '{"type": "response.audio.delta", "delta": 7}')

    def outputs() -> list[tuple[str, str]]:
        return [
            (i.call_id, i.text)
            for s in standin.sessions
            for i in s.items
            if i.type == "function_call_output"
        ]

    return RealtimeCase(
        model,
        script,
        slow,
        drop=lambda session: standin.drop(last()),
        rate_limit=rate_limit,
        refuse=refuse,
        truncations=lambda: [(t[0], t[1]) for s in standin.sessions for t in s.truncations],
        tool_outputs=outputs,
        garbage=lambda session: garbage(last()),
        bad_key=bad,
        extras={"standin": standin},
    )


@pytest.fixture
def voicelive_realtime(realtime_standin_server: RealtimeStandin) -> RealtimeCase:
    from adapters.realtime.voicelive import VoiceLiveRealtimeModel

    standin = realtime_standin_server
    model = VoiceLiveRealtimeModel(
        standin.base_url, AzureKeyCredential(API_KEY), "gpt-realtime", max_reconnects=2
    )
    bad = VoiceLiveRealtimeModel(standin.base_url, AzureKeyCredential("wrong"), "gpt-realtime")
    return _standin_case(standin, model, bad)


@pytest.fixture
async def openai_realtime(realtime_standin_server: RealtimeStandin) -> Iterator[RealtimeCase]:
    from adapters.realtime.openai import OpenAIRealtimeModel

    standin = realtime_standin_server
    model = OpenAIRealtimeModel(
        AsyncOpenAI(api_key=BEARER, base_url=f"{standin.base_url}/v1"),
        "gpt-realtime",
        max_reconnects=2,
    )
    bad = OpenAIRealtimeModel(
        AsyncOpenAI(api_key="wrong", base_url=f"{standin.base_url}/v1"), "gpt-realtime"
    )
    yield _standin_case(standin, model, bad)
    await model.aclose()
    await bad.aclose()


@pytest.fixture
async def azure_openai_realtime(
    realtime_standin_server: RealtimeStandin,
) -> Iterator[RealtimeCase]:
    from adapters.realtime.openai import OpenAIRealtimeModel

    standin = realtime_standin_server
    # Azure OpenAI's GA path: the same client on <endpoint>/openai/v1, the deployment as model.
    model = OpenAIRealtimeModel(
        AsyncOpenAI(api_key=API_KEY, base_url=f"{standin.base_url}/openai/v1"),
        "my-realtime-deployment",
        name="azure_openai",
        max_reconnects=2,
    )
    bad = OpenAIRealtimeModel(
        AsyncOpenAI(api_key="wrong", base_url=f"{standin.base_url}/openai/v1"), "d"
    )
    yield _standin_case(standin, model, bad)
    await model.aclose()
    await bad.aclose()
