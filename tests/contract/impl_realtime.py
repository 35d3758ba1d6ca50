"""Realtime model implementations under contract: the fake, Voice Live and OpenAI Realtime.

Each fixture returns a :class:`RealtimeCase`: the model plus what the suite cannot do through
the port (script what the caller is heard saying and what the model answers, slow a response
down, drop the socket, send a rate-limit error or garbage, read what the service recorded).
Voice Live and OpenAI run the real SDKs against ``tests/emulators/realtime_standin.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from openai import AsyncOpenAI

from adapters.memory.realtime import FakeRealtimeModel, FakeRealtimeSession, FakeReply
from parley.contract import RealtimeModelCase
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

RealtimeCase = RealtimeModelCase
"""The kit's case (bootstrap/contract/realtime_case.py), under the name these fixtures use."""


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

    def drop_after_audio(chunks: int) -> None:
        standin.faults.drop_after_audio = chunks

    def slow_first_audio(seconds: float) -> None:
        standin.faults.slow_first_audio_s = seconds

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
        drop_after_audio=drop_after_audio,
        slow_first_audio=slow_first_audio,
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
