"""Azure Speech adapters under contract, through the local Speech protocol stand-in.

The real Speech SDK talks to ``tests/emulators/speech_standin.py`` on 127.0.0.1: recognition
answers real speech with pocketsphinx text, synthesis answers with tone audio and exact word
boundaries. Failures are provoked on the wire: a wrong key (HTTP 401 at the upgrade), a port
where nothing listens (connection refused) and a stand-in answering 429.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.audio import read_wav_frames
from parley.contract import Failing, SpeechToTextCase, TextToSpeechCase, silence
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    AuthenticationError,
    ProviderUnavailableError,
    RateLimitedError,
)
from tests.emulators.speech_engines import PocketsphinxTranscriber, ToneSynthesizer
from tests.emulators.speech_standin import DEFAULT_KEY, SpeechStandIn, running_speech_standin


@pytest.fixture
def dead_host() -> Iterator[str]:
    """A port bound but not listening: connecting is refused, and no other server of the
    test run can take the port while the test holds it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def contract_speech_standin() -> Iterator[SpeechStandIn]:
    standin = SpeechStandIn(transcriber=PocketsphinxTranscriber(), synthesizer=ToneSynthesizer())
    with running_speech_standin(standin) as running:
        yield running


@pytest.fixture
def contract_rate_limited_standin() -> Iterator[SpeechStandIn]:
    standin = SpeechStandIn(synthesizer=ToneSynthesizer())
    standin.faults.reject_status = 429
    with running_speech_standin(standin) as running:
        yield running


@pytest.fixture
def azure_speech_to_text(
    contract_speech_standin: SpeechStandIn, shared_audio_dir: Path, dead_host: str
) -> SpeechToTextCase:
    from adapters.azure_speech import AzureSpeechAuth, AzureSpeechToText, RecognitionOptions

    host = contract_speech_standin.host
    once = RecognitionOptions(reconnect_attempts=1, connect_timeout_ms=10_000)
    speech = (
        silence(PCM16_16K, 200)
        + read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
        + silence(PCM16_16K, 600)
    )
    return SpeechToTextCase(
        stt=AzureSpeechToText(AzureSpeechAuth(key=DEFAULT_KEY, host=host)),
        fmt=PCM16_16K,
        speech=speech,
        expected_words="go forward ten meters",
        max_wer=0.25,
        failures=[
            Failing(
                AuthenticationError,
                AzureSpeechToText(AzureSpeechAuth(key="wrong-key", host=host), once),
                "wrong key (401 at the upgrade)",
            ),
            Failing(
                ProviderUnavailableError,
                AzureSpeechToText(AzureSpeechAuth(key=DEFAULT_KEY, host=dead_host), once),
                "nothing listening",
            ),
        ],
        timeout_s=20.0,
    )


@pytest.fixture
async def azure_text_to_speech(
    contract_speech_standin: SpeechStandIn,
    contract_rate_limited_standin: SpeechStandIn,
    dead_host: str,
) -> AsyncIterator[TextToSpeechCase]:
    from adapters.azure_speech import AzureSpeechAuth, AzureTextToSpeech, SynthesisOptions

    no_pool = SynthesisOptions(pool_size=0)
    # Generous timeouts: a loaded CI machine is slow; the suite checks behaviour, not speed.
    patient = SynthesisOptions(first_audio_timeout_ms=20_000, chunk_timeout_ms=20_000)
    adapters = [
        AzureTextToSpeech(
            AzureSpeechAuth(key=DEFAULT_KEY, host=contract_speech_standin.host), patient
        ),
        AzureTextToSpeech(
            AzureSpeechAuth(key="wrong-key", host=contract_speech_standin.host), no_pool
        ),
        AzureTextToSpeech(AzureSpeechAuth(key=DEFAULT_KEY, host=dead_host), no_pool),
        AzureTextToSpeech(
            AzureSpeechAuth(key=DEFAULT_KEY, host=contract_rate_limited_standin.host), no_pool
        ),
    ]
    good, wrong_key, dead, limited = adapters
    yield TextToSpeechCase(
        tts=good,
        formats=(PCM16_16K, PCM16_24K, MULAW_8K, AudioFormat(22050)),
        unsupported_format=None,
        failures=[
            Failing(AuthenticationError, wrong_key, "wrong key (401 at the upgrade)"),
            Failing(ProviderUnavailableError, dead, "nothing listening"),
            Failing(RateLimitedError, limited, "429 at the upgrade"),
        ],
    )
    for adapter in adapters:
        await adapter.aclose()
