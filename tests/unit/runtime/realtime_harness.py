"""The runtime rig in realtime mode: the same fakes and manual clock, a fake realtime model."""

from __future__ import annotations

from typing import Any

from adapters.memory.realtime import FakeRealtimeModel, FakeRealtimeSession
from domain.runtime import RuntimeDeps
from domain.runtime.realtime import RealtimeAgentOptions, RealtimeCallRuntime, RealtimeDeps
from ports import PCM16_24K
from ports.realtime import RealtimeConfig

from .harness import Rig, make_rig


def make_realtime_rig(
    model: FakeRealtimeModel,
    *,
    base: RealtimeConfig | None = None,
    agent_options: dict[str, RealtimeAgentOptions] | None = None,
    **kwargs: Any,
) -> Rig:
    """:func:`make_rig` at 24 kHz whose runtime runs calls over ``model``."""
    kwargs.setdefault("fmt", PCM16_24K)
    rig = make_rig(**kwargs)
    deps = RuntimeDeps(
        stt=rig.stt,
        tts=rig.tts,
        llm=rig.llm,
        vad_factory=rig.vad,
        tools=rig.tools,
        sessions=rig.sessions,
        transcripts=rig.transcripts,
        clock=rig.clock,
        metrics=rig.metrics,
        call_control=rig.call_control,
    )
    realtime = RealtimeDeps(model, base or RealtimeConfig(), agent_options or {})
    rig.runtime = RealtimeCallRuntime(
        rig.runtime._conversation,  # noqa: SLF001 (the rig's own conversation)
        deps,
        realtime,
        rig.runtime.config,
    )
    return rig


def session_of(model: FakeRealtimeModel) -> FakeRealtimeSession:
    """The call's (only) session."""
    [session] = model.sessions
    return session


def requests(session: FakeRealtimeSession, kind: str) -> list[Any]:
    """Payloads of the session's requests of ``kind``, in order."""
    return [payload for name, payload in session.requests if name == kind]
