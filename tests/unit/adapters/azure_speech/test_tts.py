"""AzureTextToSpeech against the Speech protocol stand-in, through the real SDK."""

from __future__ import annotations

import asyncio

import pytest

from adapters.azure_speech import AzureSpeechAuth, AzureTextToSpeech, SynthesisOptions
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    AuthenticationError,
    ProviderError,
    ProviderTimeoutError,
    SpeechChunk,
    Voice,
)
from tests.emulators.speech_standin import SpeechStandIn, parse_ssml

pytestmark = pytest.mark.standin

TEXT = "Hello there & welcome to <Contoso> bank, how can I help?"
WORDS = ["Hello", "there", "welcome", "to", "Contoso", "bank", "how", "can", "I", "help"]


async def speak(tts, text=TEXT, fmt=PCM16_16K, voice=None) -> list[SpeechChunk]:
    voice = voice or Voice()

    async def run() -> list[SpeechChunk]:
        return [chunk async for chunk in tts.synthesize(text, voice=voice, fmt=fmt)]

    return await asyncio.wait_for(run(), 15)


@pytest.fixture
async def tts(speech_auth):
    adapter = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=1))
    yield adapter
    await adapter.aclose()


@pytest.mark.parametrize("fmt", [PCM16_16K, PCM16_24K, MULAW_8K, AudioFormat(22050)])
async def test_chunks_are_in_the_requested_format(tts, fmt, speech_standin):
    chunks = await speak(tts, fmt=fmt)
    assert chunks and all(c.audio.format == fmt for c in chunks)
    total_ms = sum(c.audio.duration_ms for c in chunks)
    assert total_ms > 1000
    stamps = [c.audio.timestamp_ms for c in chunks]
    assert stamps == sorted(stamps)
    spoken = next(c for c in speech_standin.connections if c.ssml)
    output = spoken.contexts[0]["synthesis"]["audio"]["outputFormat"]
    native = {
        16000: "raw-16khz-16bit-mono-pcm",
        24000: "raw-24khz-16bit-mono-pcm",
        8000: "raw-8khz-8bit-mono-mulaw",
        22050: "raw-24khz-16bit-mono-pcm",
    }
    assert output == native[fmt.sample_rate_hz]


async def test_word_boundaries_index_the_text_and_ride_on_the_chunk_where_they_start(
    tts, speech_standin
):
    chunks = await speak(tts)
    words = [w for c in chunks for w in c.words]
    assert [TEXT[w.text_offset : w.text_offset + w.text_length] for w in words] == WORDS
    # The stand-in's tone synthesizer says where each word starts: 60 ms + 40 ms per
    # character of tone, then 60 ms of silence; the adapter must report exactly that.
    expected, at = [], 0.0
    for spoken in WORDS:
        expected.append(at)
        at += 60 + 40 * len(spoken) + 60
    assert [w.audio_offset_ms for w in words] == pytest.approx(expected, abs=1)
    for chunk in chunks:
        start = chunk.audio.timestamp_ms
        for word in chunk.words:
            # Each word rides on the chunk during which it starts, although the SDK raises
            # boundary events on another thread than audio events.
            assert start - 1 <= word.audio_offset_ms < start + chunk.audio.duration_ms + 1


async def test_ssml_carries_voice_style_rate_and_pitch(tts, speech_standin):
    voice = Voice(name="en-GB-SoniaNeural", language="en-GB", style="cheerful", rate=1.25, pitch=10)
    await speak(tts, voice=voice)
    parsed = parse_ssml(next(c for c in speech_standin.connections if c.ssml).ssml[-1])
    assert (parsed.voice, parsed.language, parsed.style) == (
        "en-GB-SoniaNeural",
        "en-GB",
        "cheerful",
    )
    assert (parsed.rate, parsed.pitch) == ("+25.00%", "+10.00%")
    assert parsed.text == TEXT


async def test_empty_text_yields_no_chunk(tts, speech_standin):
    assert await speak(tts, text="  \n ") == []
    assert speech_standin.connections == []


async def test_closing_the_iterator_stops_synthesis_on_the_service(tts, speech_standin):
    speech_standin.faults.chunk_interval_ms = 30
    long_text = " ".join(["word"] * 60)
    generator = tts.synthesize(long_text, voice=Voice(), fmt=PCM16_16K)
    first = await asyncio.wait_for(anext(generator), 5)
    assert first.audio.data
    await generator.aclose()
    record = next(c for c in speech_standin.connections if c.ssml)
    for _ in range(100):  # the SDK closes the socket when it stops speaking
        if not speech_standin.is_open(record):
            break
        await asyncio.sleep(0.02)
    assert not speech_standin.is_open(record)
    assert record.audio_frames_sent < 20  # 60 words of tones need about 170 frames
    speech_standin.faults.chunk_interval_ms = 0
    again = await speak(tts, text="still here")
    assert [w for c in again for w in c.words]


async def test_cancelling_the_consumer_stops_synthesis(tts, speech_standin):
    speech_standin.faults.chunk_interval_ms = 30
    received: list[SpeechChunk] = []

    async def consume() -> None:
        async for chunk in tts.synthesize(" ".join(["word"] * 60), voice=Voice(), fmt=PCM16_16K):
            received.append(chunk)

    task = asyncio.create_task(consume())
    while not received:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    count = len(received)
    await asyncio.sleep(0.2)
    assert len(received) == count


async def test_warm_up_connects_ahead_of_the_first_synthesis(speech_auth, speech_standin):
    tts = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=2))
    try:
        await tts.warm_up([PCM16_16K])
        assert tts.pool.idle_count() == 2
        for _ in range(100):
            if len(speech_standin.connections) == 2:
                break
            await asyncio.sleep(0.02)
        assert len({c.connection_id for c in speech_standin.connections}) == 2
        await speak(tts)
        # The adapter served the request with a synthesizer connected ahead of need. (Which
        # socket the SDK then writes on is the SDK's choice: under load it may reconnect.)
        assert (tts.pool.hits, tts.pool.misses) == (1, 0)
        assert any(c.ssml for c in speech_standin.connections)
    finally:
        await tts.aclose()


async def test_wrong_key_raises_authentication_error(speech_standin):
    tts = AzureTextToSpeech(AzureSpeechAuth(key="wrong", host=speech_standin.host))
    with pytest.raises(AuthenticationError):
        await speak(tts)
    await tts.aclose()


async def test_a_dropped_connection_mid_synthesis_raises_a_provider_error(tts, speech_standin):
    speech_standin.faults.drop_after_chunks = 2
    with pytest.raises(ProviderError):
        await speak(tts, text=" ".join(["word"] * 40))
    speech_standin.faults.drop_after_chunks = None
    assert await speak(tts, text="recovered")


async def test_no_first_audio_within_the_timeout_raises_timeout(speech_auth, speech_standin):
    speech_standin.faults.first_result_delay_ms = 1500
    tts = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=0, first_audio_timeout_ms=300))
    with pytest.raises(ProviderTimeoutError):
        await speak(tts)
    await tts.aclose()


async def test_a_delayed_first_audio_within_the_timeout_still_arrives(tts, speech_standin):
    speech_standin.faults.first_result_delay_ms = 300
    assert await speak(tts, text="late but fine")


async def test_text_stream_input_uses_v2_and_indexes_the_joined_pieces(speech_auth, speech_standin):
    tts = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=0))
    pieces = ["Hello ", "there, how", " are you", " today?"]

    async def deltas():
        for piece in pieces:
            yield piece
            await asyncio.sleep(0.01)

    try:
        chunks = [c async for c in tts.synthesize_stream(deltas(), voice=Voice(), fmt=PCM16_24K)]
    finally:
        await tts.aclose()
    text = "".join(pieces)
    words = [w for c in chunks for w in c.words]
    assert [text[w.text_offset : w.text_offset + w.text_length] for w in words] == [
        "Hello",
        "there",
        "how",
        "are",
        "you",
        "today",
    ]
    record = next(c for c in speech_standin.connections if c.text_pieces)
    assert record.path.startswith("/cognitiveservices/websocket/v2")
    assert "".join(record.text_pieces) == text
    assert all(c.audio.format == PCM16_24K for c in chunks)


async def test_text_stream_mode_serves_the_port_method_too(speech_auth, speech_standin):
    tts = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=0, text_stream=True))
    try:
        chunks = await speak(tts, text="Hello there friend")
    finally:
        await tts.aclose()
    words = [w for c in chunks for w in c.words]
    assert [w.text_offset for w in words] == [0, 6, 12]
    assert any(c.path.endswith("/v2") for c in speech_standin.connections)


async def test_long_text_is_split_and_offsets_stay_on_one_timeline(speech_auth):
    tts = AzureTextToSpeech(speech_auth, SynthesisOptions(pool_size=1, max_chars=40))
    text = "First sentence is here. Second one follows now. Third and last."
    try:
        chunks = await speak(tts, text=text)
    finally:
        await tts.aclose()
    words = [w for c in chunks for w in c.words]
    assert [text[w.text_offset : w.text_offset + w.text_length] for w in words] == (
        text.replace(".", "").split()
    )
    offsets = [w.audio_offset_ms for w in words]
    assert offsets == sorted(offsets)


async def test_health_check_opens_no_connection(tts, speech_standin):
    await tts.health_check()
    assert speech_standin.connections == []


def test_the_stand_in_serves_one_test_at_a_time(speech_standin: SpeechStandIn):
    assert speech_standin.port > 0
