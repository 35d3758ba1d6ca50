"""The neural offline engines under contract: Whisper, Piper, Silero VAD, Smart Turn.

Real models from the installed wheels, on real human clips from shared/audio; failures are
provoked with real broken model files (a ``model.bin`` or ``.onnx`` that is not a model).
Engines are module-scoped: one loaded model per module, bound to no event loop.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.audio import read_wav, read_wav_frames
from parley.contract import (
    EndOfTurnCase,
    Failing,
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
    AudioFrame,
    ProviderUnavailableError,
)

PAUSE_MS = 250
"""The pause after a turn when the runtime asks the end-of-turn model (250 ms default)."""


@pytest.fixture(scope="module")
def _whisper_engine() -> Iterator[object]:
    from adapters.local.whisper_stt import WhisperSpeechToText

    engine = WhisperSpeechToText()
    yield engine
    asyncio.run(engine.aclose())  # type: ignore[attr-defined]


@pytest.fixture
def whisper_speech_to_text(
    _whisper_engine, shared_audio_dir: Path, tmp_path: Path
) -> SpeechToTextCase:
    from adapters.local.whisper_decode import WhisperDecoder
    from adapters.local.whisper_stt import WhisperSpeechToText

    speech = (
        silence(PCM16_16K, 200)
        + read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
        + silence(PCM16_16K, 400)
    )
    (tmp_path / "model.bin").write_bytes(b"not a CTranslate2 model")
    broken = WhisperSpeechToText(WhisperDecoder(model_dir=tmp_path))
    return SpeechToTextCase(
        stt=_whisper_engine,  # type: ignore[arg-type]
        fmt=PCM16_16K,
        speech=speech,
        expected_words="go forward ten meters",
        max_wer=0.3,  # Whisper writes "10" for "ten": one word of four
        failures=[Failing(ProviderUnavailableError, broken, "not a model")],
        timeout_s=60.0,
    )


@pytest.fixture(scope="module")
def _piper_engine() -> Iterator[object]:
    from adapters.local.piper_tts import PiperTextToSpeech

    engine = PiperTextToSpeech()
    yield engine
    asyncio.run(engine.aclose())  # type: ignore[attr-defined]


def _broken_onnx(tmp_path: Path, config: Path | None = None) -> Path:
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not an onnx model")
    if config is not None:
        shutil.copy(config, f"{model}.json")
    return model


@pytest.fixture
def piper_text_to_speech(_piper_engine, tmp_path: Path) -> TextToSpeechCase:
    from adapters.local.piper_tts import PiperTextToSpeech

    broken = PiperTextToSpeech(model_path=_broken_onnx(tmp_path, _piper_engine.config_path))
    return TextToSpeechCase(
        tts=_piper_engine,  # type: ignore[arg-type]
        formats=(PCM16_16K, PCM16_24K, MULAW_8K),
        unsupported_format=AudioFormat(16000, 2),
        failures=[Failing(ProviderUnavailableError, broken, "not a voice")],
    )


@pytest.fixture
def silero_vad(shared_audio_dir: Path) -> VadCase:
    from adapters.local.silero_vad import SileroVadFactory

    speech = read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
    return VadCase(
        factory=SileroVadFactory(),
        fmt=PCM16_16K,
        speech=speech[28:110],  # the voiced middle of "go forward ten meters"
        silence=silence(PCM16_16K, 600),
        invalid_frame=None,  # frames of any duration are buffered into 32 ms windows
        unsupported_format=AudioFormat(16000, 2),
    )


@pytest.fixture(scope="module")
def _smart_turn_engine() -> Iterator[object]:
    from adapters.local.smart_turn import SmartTurnDetector

    engine = SmartTurnDetector()
    yield engine
    asyncio.run(engine.aclose())  # type: ignore[attr-defined]


@pytest.fixture
def smart_turn_end_of_turn(
    _smart_turn_engine, shared_audio_dir: Path, tmp_path: Path
) -> EndOfTurnCase:
    from adapters.local.smart_turn import SmartTurnDetector

    pause = b"\x00" * PCM16_16K.frame_bytes(PAUSE_MS)
    sentence = read_wav(shared_audio_dir / "go_forward.wav", PCM16_16K).data
    address = read_wav(shared_audio_dir / "jfk.wav", PCM16_16K).data
    cut = address[: len(address) * 6 // 10 // 2 * 2]  # "...ask not what your country"
    return EndOfTurnCase(
        detector=_smart_turn_engine,  # type: ignore[arg-type]
        formats=(PCM16_16K, PCM16_24K, MULAW_8K),
        complete=AudioFrame(sentence + pause, PCM16_16K),
        incomplete=AudioFrame(cut + pause, PCM16_16K),
        failures=[
            Failing(ProviderUnavailableError, SmartTurnDetector(_broken_onnx(tmp_path)), "bad")
        ],
        timeout_s=30.0,
    )
