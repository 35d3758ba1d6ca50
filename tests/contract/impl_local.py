"""Offline engines under contract: pocketsphinx, espeak-ng, webrtcvad, the dialog model.

The speech-to-text case uses a real human clip (``go_forward.wav`` from shared/audio) with a
WER bound; failures are provoked through real engine errors (an unknown decoder option, a
missing espeak-ng library, a request for an agent the dialog model does not know).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.audio import read_wav_frames
from parley.contract import (
    Failing,
    LanguageModelCase,
    ModelRequestSpec,
    SpeechToTextCase,
    TextToSpeechCase,
    VadCase,
    silence,
)
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    ChatMessage,
    ModelOptions,
    ProviderUnavailableError,
    Role,
)


@pytest.fixture(scope="module")
def _pocketsphinx_engine() -> Iterator[object]:
    from adapters.local.stt import PocketsphinxSpeechToText

    engine = PocketsphinxSpeechToText()  # bound to no event loop: one per module is fine
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture
def local_speech_to_text(_pocketsphinx_engine, shared_audio_dir: Path) -> SpeechToTextCase:
    from adapters.local.stt import PocketsphinxSpeechToText

    speech = (
        silence(PCM16_16K, 200)
        + read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
        + silence(PCM16_16K, 400)
    )
    broken = PocketsphinxSpeechToText(decoder_options={"no_such_option": 1})
    return SpeechToTextCase(
        stt=_pocketsphinx_engine,  # type: ignore[arg-type]
        fmt=PCM16_16K,
        speech=speech,
        expected_words="go forward ten meters",
        max_wer=0.25,  # MANIFEST baseline for this clip: 0.0
        failures=[Failing(ProviderUnavailableError, broken, "unknown decoder option")],
        timeout_s=60.0,  # a cold decoder process starts in about 1 s, more on a busy machine
    )


@pytest.fixture(scope="module")
def _espeak_engine() -> Iterator[object]:
    from adapters.local.tts import EspeakTextToSpeech

    engine = EspeakTextToSpeech()  # espeak-ng state is process-wide: one instance at a time
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture
def local_text_to_speech(_espeak_engine) -> TextToSpeechCase:
    from adapters.local.tts import EspeakTextToSpeech

    missing = EspeakTextToSpeech(library_path="/nonexistent/libespeak-ng.so")
    return TextToSpeechCase(
        tts=_espeak_engine,  # type: ignore[arg-type]
        formats=(PCM16_16K, PCM16_24K, MULAW_8K),
        unsupported_format=AudioFormat(16000, 2),
        failures=[Failing(ProviderUnavailableError, missing, "library missing")],
    )


@pytest.fixture
def local_vad(shared_audio_dir: Path) -> VadCase:
    from adapters.local.vad import WebRtcVadFactory

    speech = read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
    return VadCase(
        factory=WebRtcVadFactory(aggressiveness=2),
        fmt=PCM16_16K,
        speech=speech[28:110],  # the voiced middle of "go forward ten meters"
        silence=silence(PCM16_16K, 600),
        invalid_frame=silence(PCM16_16K, 25, frame_ms=25)[0],
        unsupported_format=None,  # every rate is taken (other rates are resampled)
    )


@pytest.fixture
def offline_language_model() -> LanguageModelCase:
    from adapters.local.dialog import DialogAgent, Intent, OfflineDialogModel, Slot, SlotKind

    assistant = DialogAgent(
        "assistant",
        intents=(
            Intent("greet", ("say hello", "hello there"), reply="Hello! How can I help you?"),
            Intent(
                "weather",
                ("what is the weather in paris", "weather forecast"),
                keywords=("weather",),
                tool="get_weather",
                slots=(Slot("city", SlotKind.REGEX, r"\bin ([a-z]+)"),),
            ),
        ),
    )
    system = ChatMessage(Role.SYSTEM, "You are a helpful assistant.")
    options = ModelOptions(agent="assistant")
    text = ModelRequestSpec([system, ChatMessage(Role.USER, "Say hello to me.")], (), options)
    tool = ModelRequestSpec(
        [system, ChatMessage(Role.USER, "What is the weather in Paris?")], (), options
    )
    unknown_agent = OfflineDialogModel({"someone_else": assistant})
    return LanguageModelCase(
        model=OfflineDialogModel({"assistant": assistant}),
        text_request=text,
        tool_request=tool,
        expected_tool="get_weather",
        expected_arguments={"city": "Paris"},
        stalling=None,  # it answers at once; there is no request to stall
        failures=[Failing(ProviderUnavailableError, unknown_agent, "unknown agent")],
    )
