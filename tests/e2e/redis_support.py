"""Helpers of the Redis end-to-end tests: settings on fakes + Redis, scripted callers, polling."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import providers
from pydantic import SecretStr

from adapters.acs_emulator.media_client import MediaClient
from adapters.memory import FakeSpeechToText, FakeTextToSpeech, FakeVadFactory, tone_frames
from adapters.redis import RedisConfig, RedisConnection, RedisSessionStore, RedisTranscriptLog
from bootstrap.containers import ApplicationContainer
from bootstrap.settings import Settings
from ports import PCM16_16K, TranscriptEntry

from .acs_support import offline_settings


def redis_settings(url: str, **redis: Any) -> Settings:
    """Fake engines (echo model), ``PARLEY_STORE=redis`` at ``url``."""
    base = offline_settings(stt="fake", tts="fake", llm="fake", vad="fake", store="redis")
    group = base.redis.model_copy(update={"url": SecretStr(url), **redis})
    return dataclasses.replace(base, redis=group)


def scripted_engines(utterances: list[str]) -> Callable[[ApplicationContainer], None]:
    """Container overrides: the caller's tone turns are heard as ``utterances``; short TTS."""

    def configure(container: ApplicationContainer) -> None:
        container.adapters.stt.override(providers.Object(FakeSpeechToText(utterances)))
        container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=10.0)))
        container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))

    return configure


def caller_turn(ms: int = 600) -> bytes:
    """Loud tone the fake VAD and STT hear as one utterance."""
    return b"".join(f.data for f in tone_frames(PCM16_16K, ms, amplitude=6000))


async def until(
    predicate: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not met within {timeout_s} s"
        await asyncio.sleep(0.02)


async def until_quiet(media: MediaClient, settle_s: float = 0.5, timeout_s: float = 20.0) -> None:
    """Until the agent has played everything and sent nothing for ``settle_s``."""

    def quiet() -> bool:
        last = media.last_frame_time or 0.0
        return not media.playout.is_playing() and time.monotonic() - last >= settle_s

    await until(quiet, timeout_s, "agent quiet")


async def speak_and_wait_for_reply(media: MediaClient, pcm: bytes, timeout_s: float = 15.0) -> None:
    """Say ``pcm`` once the agent is quiet; return when reply audio arrives."""
    await until_quiet(media)
    await media.speak(pcm)
    before = media.stats.frames_received
    await until(lambda: media.stats.frames_received > before, timeout_s, "agent reply audio")


@asynccontextmanager
async def redis_reader(url: str) -> AsyncIterator[tuple[RedisTranscriptLog, RedisSessionStore]]:
    """A fresh connection reading what the server stored."""
    connection = RedisConnection(RedisConfig(url=url))
    await connection.start()
    try:
        yield (
            RedisTranscriptLog(connection, ttl_ms=60_000),
            RedisSessionStore(connection, ttl_ms=60_000),
        )
    finally:
        await connection.aclose()


def texts(entries: list[TranscriptEntry], kind: str) -> list[str]:
    return [e.text for e in entries if e.kind == kind]
