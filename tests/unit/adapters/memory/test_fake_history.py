"""The fakes keep a bounded history, so ``parley serve`` on fake engines stays flat.

Issue 12 (soak): with ``PARLEY_STT/TTS/VAD/LLM=fake`` every call's recognition session,
detector, synthesis request and model request stayed in the fakes' lists for the life of the
process (bench_soak: ~4.5 MB per 1,000 calls, most of the live growth it measured).
"""

from __future__ import annotations

import gc
import weakref

import pytest

from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ScriptedLanguageModel,
    ScriptedTurn,
)
from ports import PCM16_16K, ChatMessage, ModelOptions, Role, Voice

CALLS = 250
"""More calls than a fake remembers by default."""


def test_speech_to_text_forgets_the_sessions_of_old_calls() -> None:
    stt = FakeSpeechToText()
    first = weakref.ref(stt.session(PCM16_16K))
    for _ in range(CALLS - 1):
        stt.session(PCM16_16K)
    gc.collect()
    assert first() is None
    assert len(stt.sessions) < CALLS
    assert stt.sessions[-1].format == PCM16_16K


def test_vad_factory_forgets_the_detectors_of_old_calls() -> None:
    vads = FakeVadFactory()
    first = weakref.ref(vads(PCM16_16K))
    for _ in range(CALLS - 1):
        vads(PCM16_16K)
    gc.collect()
    assert first() is None
    assert len(vads.created) < CALLS


async def test_text_to_speech_keeps_only_the_recent_requests() -> None:
    tts = FakeTextToSpeech()
    for n in range(CALLS):
        async for _ in tts.synthesize(f"hello {n}", voice=Voice(), fmt=PCM16_16K):
            pass
    assert len(tts.requests) < CALLS
    assert tts.requests[-1].text == f"hello {CALLS - 1}"


async def test_language_model_keeps_only_the_recent_requests() -> None:
    llm = ScriptedLanguageModel(responder=lambda *_: ScriptedTurn(text="ok"))
    for n in range(CALLS):
        async for _ in llm.stream([ChatMessage(Role.USER, f"hi {n}")], [], ModelOptions()):
            pass
    assert len(llm.requests) < CALLS
    assert llm.requests[-1].messages[0].text == f"hi {CALLS - 1}"


def test_a_history_of_at_least_one_is_required() -> None:
    with pytest.raises(ValueError, match="history"):
        FakeSpeechToText(history=0)
    kept = FakeSpeechToText(history=2)
    sessions = [kept.session(PCM16_16K) for _ in range(3)]
    assert kept.sessions == sessions[1:]
