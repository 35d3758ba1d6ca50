"""Adapter factories named by the selection table (:mod:`bootstrap.selection`).

Each factory takes a :class:`BuildContext` and returns the port's adapter; rows marked
``resource=True`` name an ``@asynccontextmanager`` instead, entered when the app starts and
exited when it stops. Adapter packages are imported inside the factory, so selecting ``local``
never imports an Azure SDK and the reverse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bootstrap.agents import LoadedAgents
from bootstrap.selection import (
    SETTING_OF,
    Port,
    SelectionError,
    missing_keys,
    module_problem,
    resolve_factory,
    selected_option,
)
from bootstrap.settings import Settings
from ports import (
    CallRegistry,
    ChatMessage,
    Clock,
    EventBus,
    LanguageModel,
    ModelOptions,
    Role,
    SessionStore,
    SpeechToText,
    TextToSpeech,
    ToolSpec,
    TranscriptLog,
    VadFactory,
)

logger = logging.getLogger(__name__)


REALTIME_UNUSED: frozenset[Port] = frozenset({"stt", "tts", "turn"})
"""Ports the realtime pipeline never calls (docs/adr/0011): not opened in realtime mode."""


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What every factory may use.

    Attributes:
        settings: All settings.
        clock: The process clock.
        agents: The loaded agent files (the offline dialog model needs their intents).
    """

    settings: Settings
    clock: Clock
    agents: LoadedAgents


@dataclass(frozen=True, slots=True)
class Stores:
    """The four storage ports, chosen together by ``PARLEY_STORE``."""

    sessions: SessionStore
    transcripts: TranscriptLog
    call_registry: CallRegistry
    event_bus: EventBus


async def open_adapter(port: Port, ctx: BuildContext) -> AsyncIterator[Any]:
    """dependency-injector Resource initializer: build the selected adapter of ``port``.

    Yields:
        The adapter (``None`` for an optional port that is not configured).

    Raises:
        SelectionError: The selected option is not available, or a key it needs is not set
            (the message names the env key).
    """
    if port in REALTIME_UNUSED and ctx.settings.providers.pipeline == "realtime":
        # The realtime session hears, speaks and detects turns: no recogniser, synthesiser
        # or end-of-turn model is loaded.
        yield fake_stt(ctx) if port == "stt" else fake_tts(ctx) if port == "tts" else None
        return
    option = selected_option(ctx.settings, port)
    if option.optional:
        reason = module_problem(option) or (
            f"needs {', '.join(missing_keys(ctx.settings, option))}"
            if missing_keys(ctx.settings, option)
            else None
        )
        if reason:
            logger.info("%s disabled: %s", port, reason)
            yield None
            return
    else:
        missing = missing_keys(ctx.settings, option)
        if missing:
            raise SelectionError(
                [f"{SETTING_OF[port]}={option.value} needs {key} (not set)" for key in missing]
            )
    factory = resolve_factory(option)
    if option.resource:
        async with factory(ctx) as adapter:
            yield adapter
    else:
        yield factory(ctx)


# --- speech-to-text -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def local_stt(ctx: BuildContext) -> AsyncIterator[SpeechToText]:
    """pocketsphinx, offline (``PARLEY_STT=local``).

    A Resource: one decoder process is warmed up at start (so the first call does not pay
    the ~0.4 s decoder start-up) and every decoder process is stopped at shutdown.
    """
    from adapters.local.stt import PocketsphinxSpeechToText

    adapter = PocketsphinxSpeechToText()
    try:
        await adapter.warm_up(1)
        yield adapter
    finally:
        await adapter.aclose()


def fake_stt(ctx: BuildContext) -> SpeechToText:
    """A fake that recognises nothing (``PARLEY_STT=fake``); tests override it with a script."""
    from adapters.memory import FakeSpeechToText

    return FakeSpeechToText()


# --- text-to-speech -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def local_tts(ctx: BuildContext) -> AsyncIterator[TextToSpeech]:
    """espeak-ng, offline (``PARLEY_TTS=local``), voice and rate from ``LOCAL_*``.

    A Resource, so the espeak worker thread is stopped at shutdown.
    """
    from adapters.local.tts import EspeakTextToSpeech

    local = ctx.settings.local
    adapter = EspeakTextToSpeech(voice=local.espeak_voice, rate_wpm=local.espeak_rate_wpm)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def fake_tts(ctx: BuildContext) -> TextToSpeech:
    """Tones of a duration proportional to the text (``PARLEY_TTS=fake``)."""
    from adapters.memory import FakeTextToSpeech

    return FakeTextToSpeech()


# --- language model -----------------------------------------------------------------------


def offline_llm(ctx: BuildContext) -> LanguageModel:
    """The offline dialog model over the agents' intents (``PARLEY_LLM=offline``)."""
    from adapters.local.dialog import OfflineDialogModel

    return OfflineDialogModel(ctx.agents.dialog_agents, default_agent=ctx.agents.graph.start)


def _echo(messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions) -> Any:
    from adapters.memory import ScriptedTurn

    said = next((m.text for m in reversed(messages) if m.role is Role.USER), "")
    return ScriptedTurn(text=f"You said: {said}." if said else "I am listening.")


def fake_llm(ctx: BuildContext) -> LanguageModel:
    """An echo bot (``PARLEY_LLM=fake``); tests override it with a script."""
    from adapters.memory import ScriptedLanguageModel

    return ScriptedLanguageModel(responder=_echo)


# --- voice activity detection -------------------------------------------------------------


def webrtc_vad(ctx: BuildContext) -> VadFactory:
    """WebRTC VAD with ``LOCAL_VAD_AGGRESSIVENESS`` (``PARLEY_VAD=webrtc``)."""
    from adapters.local.vad import WebRtcVadFactory

    return WebRtcVadFactory(ctx.settings.local.vad_aggressiveness)


def fake_vad(ctx: BuildContext) -> VadFactory:
    """Loudness-based detector (``PARLEY_VAD=fake``)."""
    from adapters.memory import FakeVadFactory

    return FakeVadFactory()


# --- stores -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def memory_stores(ctx: BuildContext) -> AsyncIterator[Stores]:
    """In-process stores (``PARLEY_STORE=memory``); TTL from ``PARLEY_SESSION_TTL_S``."""
    from adapters.memory import (
        MemoryCallRegistry,
        MemoryEventBus,
        MemorySessionStore,
        MemoryTranscriptLog,
    )

    ttl_ms = ctx.settings.server.session_ttl_s * 1000.0
    yield Stores(
        sessions=MemorySessionStore(ctx.clock, ttl_ms),
        transcripts=MemoryTranscriptLog(ctx.clock, ttl_ms),
        call_registry=MemoryCallRegistry(ctx.clock),
        event_bus=MemoryEventBus(),
    )
