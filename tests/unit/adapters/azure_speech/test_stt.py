"""AzureSpeechToText against the Speech protocol stand-in, through the real SDK."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from adapters.audio import read_wav_frames
from adapters.azure_speech import AzureSpeechAuth, AzureSpeechToText, RecognitionOptions
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFrame,
    AuthenticationError,
    InvalidAudioError,
    ProviderUnavailableError,
    StreamClosedError,
    TranscriptEvent,
)
from tests.emulators.speech_engines import PocketsphinxTranscriber, ScriptedTranscriber
from tests.emulators.speech_standin import DEFAULT_TOKEN, SpeechStandIn
from tests.unit.adapters.azure_speech.conftest import frames, silence, tone

pytestmark = pytest.mark.standin

FAST_RETRY = RecognitionOptions(
    reconnect_attempts=8, reconnect_initial_ms=50, reconnect_max_ms=300, connect_timeout_ms=3000
)


async def collect(session, timeout_s: float = 15.0) -> list[TranscriptEvent]:
    async def run() -> list[TranscriptEvent]:
        return [event async for event in session.events()]

    return await asyncio.wait_for(run(), timeout_s)


async def wait_for_finals(
    events: list[TranscriptEvent], count: int, timeout_s: float = 10.0, session=None
):
    """Wait for ``count`` finals; with ``session``, keep the call's audio flowing (silence).

    A live call pushes a frame every 20 ms even when nobody speaks; the SDK resumes sending
    (and re-sends unacknowledged audio) after a reconnect on the next write.
    """
    deadline = time.monotonic() + timeout_s
    while sum(e.is_final for e in events) < count:
        assert time.monotonic() < deadline, f"only {events} after {timeout_s} s"
        if session is not None:
            session.push(AudioFrame(silence(20), PCM16_16K))
        await asyncio.sleep(0.02)


def finals(events: list[TranscriptEvent]) -> list[str]:
    return [e.text for e in events if e.is_final]


async def test_tone_segments_become_finals_with_offsets_in_ms(speech_auth):
    stt = AzureSpeechToText(speech_auth)
    pcm = silence(200) + tone(440, 400) + silence(400) + tone(660, 300) + silence(400)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(pcm, PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert finals(events) == ["Alpha.", "Bravo."]
    first, second = (e for e in events if e.is_final)
    assert first.start_ms == pytest.approx(200, abs=20)
    assert first.end_ms == pytest.approx(600, abs=20)
    assert second.start_ms == pytest.approx(1000, abs=20)
    assert second.end_ms == pytest.approx(1300, abs=20)


async def test_partials_precede_the_final_of_their_utterance(speech_standin, speech_auth):
    speech_standin.transcriber = ScriptedTranscriber(["book a room for two"])
    stt = AzureSpeechToText(speech_auth)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(tone(440, 1200) + silence(400), PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert [e.is_final for e in events][-1] is True
    assert events[0].is_final is False
    assert events[0].text.startswith("book")
    assert finals(events) == ["Book a room for two."]


async def test_24_khz_audio_is_recognised_without_resampling(speech_standin, speech_auth):
    stt = AzureSpeechToText(speech_auth)
    pcm = tone(880, 400, 24000) + silence(400, 24000)
    async with stt.session(PCM16_24K) as session:
        for frame in frames(pcm, PCM16_24K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert finals(events) == ["Charlie."]
    config = speech_standin.connections[0]
    assert config.audio and len(next(iter(config.audio.values()))) == len(pcm)


async def test_real_speech_gives_real_text(speech_standin, speech_auth, shared_audio_dir):
    speech_standin.transcriber = PocketsphinxTranscriber()
    stt = AzureSpeechToText(speech_auth)
    async with stt.session(PCM16_16K) as session:
        for frame in read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert " ".join(finals(events)).lower().rstrip(".") == "go forward ten meters"


async def test_a_dropped_socket_is_survived_by_the_sdk_and_no_final_is_lost(
    speech_standin: SpeechStandIn, speech_auth
):
    stt = AzureSpeechToText(speech_auth, FAST_RETRY)
    async with stt.session(PCM16_16K) as session:
        events: list[TranscriptEvent] = []

        async def read() -> None:
            async for event in session.events():
                events.append(event)

        reader = asyncio.create_task(read())
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await wait_for_finals(events, 1)
        assert await asyncio.to_thread(speech_standin.call, speech_standin.drop_connections())
        for hz in (660, 880):
            for frame in frames(tone(hz, 300) + silence(400), PCM16_16K):
                session.push(frame)
        await wait_for_finals(events, 3, session=session)
        await session.flush()
        await asyncio.wait_for(reader, 10)
    assert finals(events) == ["Alpha.", "Bravo.", "Charlie."]
    assert speech_standin.connections[0].dropped
    assert len(speech_standin.connections) >= 2
    assert session.reconnects == 0  # the SDK reconnected by itself


async def test_a_connection_dropped_after_some_audio_still_recognises_later_speech(
    speech_standin: SpeechStandIn, speech_auth
):
    # The drop fault aborts the socket after 900 ms of audio, whatever is in flight; the SDK
    # reconnects by itself and re-sends what was not acknowledged. Results in flight at the
    # moment of the abort are the service's to re-send, so only the speech after the drop is
    # asserted exactly.
    speech_standin.faults.drop_after_audio_ms = 900
    stt = AzureSpeechToText(speech_auth, FAST_RETRY)
    async with stt.session(PCM16_16K) as session:
        events: list[TranscriptEvent] = []

        async def read() -> None:
            async for event in session.events():
                events.append(event)

        reader = asyncio.create_task(read())
        for hz in (440, 660, 880, 1100):
            for frame in frames(tone(hz, 300) + silence(400), PCM16_16K):
                session.push(frame)
                await asyncio.sleep(0)
        await wait_for_finals(events, 1, session=session)
        while "Delta." not in finals(events):
            await wait_for_finals(events, len(finals(events)) + 1, session=session)
        await session.flush()
        await asyncio.wait_for(reader, 10)
    assert finals(events)[-1] == "Delta."
    assert speech_standin.connections[0].dropped
    assert len(speech_standin.connections) >= 2


async def test_reconnect_after_an_outage_loses_no_audio_pushed_after_the_drop(
    speech_standin: SpeechStandIn, speech_auth
):
    stt = AzureSpeechToText(speech_auth, FAST_RETRY)
    async with stt.session(PCM16_16K) as session:
        events: list[TranscriptEvent] = []

        async def read() -> None:
            async for event in session.events():
                events.append(event)

        reader = asyncio.create_task(read())
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await wait_for_finals(events, 1)
        # The service goes away: the socket drops and new connections are refused, so the
        # SDK gives up and the adapter must reconnect by itself.
        await asyncio.to_thread(speech_standin.call, speech_standin.stop_listening())
        for hz in (660, 880):
            for frame in frames(tone(hz, 300) + silence(400), PCM16_16K):
                session.push(frame)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(speech_standin.call, speech_standin.start_listening())
        await wait_for_finals(events, 3, timeout_s=15, session=session)
        await session.flush()
        await asyncio.wait_for(reader, 10)
    assert finals(events) == ["Alpha.", "Bravo.", "Charlie."]
    assert session.reconnects >= 1
    assert session.lost_audio_ms == 0
    bravo = next(e for e in events if e.text == "Bravo.")
    assert bravo.start_ms == pytest.approx(700, abs=20)  # offsets stay on the call's timeline


async def test_audio_beyond_the_replay_window_is_reported_lost(speech_standin, speech_auth):
    options = RecognitionOptions(
        replay_max_ms=200, reconnect_attempts=8, reconnect_initial_ms=50, reconnect_max_ms=300
    )
    stt = AzureSpeechToText(speech_auth, options)
    async with stt.session(PCM16_16K) as session:
        reader = asyncio.create_task(collect(session, 20))
        for frame in frames(silence(100), PCM16_16K):
            session.push(frame)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(speech_standin.call, speech_standin.stop_listening())
        for frame in frames(tone(660, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(speech_standin.call, speech_standin.start_listening())
        for _ in range(100):
            if session.reconnects:
                break
            await asyncio.sleep(0.05)
        await session.flush()
        events = await reader
    assert session.lost_audio_ms > 0
    assert finals(events) == []  # the tone's start fell out of the 200 ms window


async def test_wrong_key_fails_clearly_with_an_authentication_error(speech_standin):
    auth = AzureSpeechAuth(key="wrong", host=speech_standin.host)
    stt = AzureSpeechToText(auth, FAST_RETRY)
    async with stt.session(PCM16_16K) as session:
        session.push(AudioFrame(silence(20), PCM16_16K))
        with pytest.raises(AuthenticationError, match="AuthenticationFailure"):
            await collect(session)
    assert len(speech_standin.connections) == 0  # refused at the upgrade, never retried


async def test_a_service_that_stays_away_ends_events_with_unavailable(speech_standin, speech_auth):
    await asyncio.to_thread(speech_standin.call, speech_standin.stop_listening())
    options = RecognitionOptions(reconnect_attempts=2, reconnect_initial_ms=10)
    stt = AzureSpeechToText(speech_auth, options)
    async with stt.session(PCM16_16K) as session:
        session.push(AudioFrame(silence(20), PCM16_16K))
        with pytest.raises(ProviderUnavailableError, match="ConnectionFailure"):
            await collect(session)


async def test_rejected_upgrades_are_retried_until_the_service_accepts(speech_standin, speech_auth):
    speech_standin.faults.reject_status = 503
    speech_standin.faults.reject_count = 1
    stt = AzureSpeechToText(speech_auth, FAST_RETRY)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert finals(events) == ["Alpha."]


async def test_a_delayed_first_result_still_arrives(speech_standin, speech_auth):
    speech_standin.faults.first_result_delay_ms = 400
    stt = AzureSpeechToText(speech_auth)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert finals(events) == ["Alpha."]


@dataclass
class _AccessToken:
    token: str
    expires_on: int


class _FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> _AccessToken:
        self.scopes.append(scopes)
        return _AccessToken(DEFAULT_TOKEN, int(time.time()) + 3600)


async def test_an_entra_token_authenticates_as_a_bearer_token(speech_standin):
    credential = _FakeCredential()
    auth = AzureSpeechAuth(host=speech_standin.host, credential=credential)
    stt = AzureSpeechToText(auth)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    assert finals(events) == ["Alpha."]
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    assert speech_standin.connections[0].headers["authorization"] == "<redacted>"


async def test_options_reach_the_service(speech_standin, speech_auth):
    options = RecognitionOptions(
        candidate_languages=("en-US", "de-DE"),
        segmentation_silence_timeout_ms=300,
        initial_silence_timeout_ms=4000,
        phrase_list=("Contoso", "Parley"),
        profanity="raw",
    )
    stt = AzureSpeechToText(speech_auth, options)
    async with stt.session(PCM16_16K) as session:
        for frame in frames(tone(440, 300) + silence(400), PCM16_16K):
            session.push(frame)
        await session.flush()
        events = await collect(session)
    record = speech_standin.connections[0]
    context = record.contexts[0]
    assert "profanity=raw" in record.path
    assert "initialSilenceTimeoutMs=4000" in record.path
    assert context["languageId"]["languages"] == ["en-US", "de-DE"]
    assert [i["Text"] for i in context["dgi"]["Groups"][0]["Items"]] == ["Contoso", "Parley"]
    segmentation = context["phraseDetection"]["CONVERSATION"]["segmentation"]
    assert segmentation["segmentationSilenceTimeoutMs"] == 300
    assert [(e.text, e.language) for e in events if e.is_final] == [("Alpha.", "en-US")]


async def test_a_session_language_overrides_the_configured_one(speech_standin, speech_auth):
    stt = AzureSpeechToText(speech_auth)
    async with stt.session(PCM16_16K, language="de-DE") as session:
        session.push(AudioFrame(silence(20), PCM16_16K))
        await session.flush()
        await collect(session)
    assert "language=de-DE" in speech_standin.connections[0].path


def test_unsupported_formats_are_refused_at_once(speech_auth):
    stt = AzureSpeechToText(speech_auth)
    with pytest.raises(InvalidAudioError):
        stt.session(MULAW_8K)


async def test_a_frame_in_another_format_is_refused(speech_auth):
    stt = AzureSpeechToText(speech_auth)
    async with stt.session(PCM16_16K) as session:
        with pytest.raises(InvalidAudioError):
            session.push(AudioFrame(silence(20, 24000), PCM16_24K))


async def test_aclose_ends_events_without_a_final_and_is_idempotent(speech_auth):
    stt = AzureSpeechToText(speech_auth)
    session = stt.session(PCM16_16K)
    reader = asyncio.create_task(collect(session))
    for frame in frames(tone(440, 300), PCM16_16K):
        session.push(frame)
    await session.aclose()
    await session.aclose()
    assert finals(await reader) == []
    with pytest.raises(StreamClosedError):
        session.push(AudioFrame(silence(20), PCM16_16K))


async def test_health_check_needs_no_connection(speech_standin, speech_auth):
    await AzureSpeechToText(speech_auth).health_check()
    assert speech_standin.connections == []


async def test_a_flush_before_the_service_ever_answers_ends_events_with_an_error(speech_auth):
    # A host that accepts TCP but never answers the WebSocket upgrade: the connection attempt
    # outlives the flush deadline. Ending events() quietly would lose every pushed frame.
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        host = f"ws://127.0.0.1:{silent.getsockname()[1]}"
        options = RecognitionOptions(
            reconnect_attempts=1, connect_timeout_ms=20_000, flush_timeout_ms=300
        )
        stt = AzureSpeechToText(AzureSpeechAuth(key=speech_auth.key, host=host), options)
        async with stt.session(PCM16_16K) as session:
            session.push(AudioFrame(silence(20), PCM16_16K))
            await session.flush()
            with pytest.raises(ProviderUnavailableError, match="never connected"):
                await collect(session)
