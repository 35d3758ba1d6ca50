"""Behaviour of the in-memory adapters beyond their port contracts (the scripting rules)."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import (
    FakeCallControl,
    FakeMediaStream,
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    FunctionToolExecutor,
    ManualClock,
    RecordingMetrics,
    ScriptedLanguageModel,
    ScriptedTurn,
    ScriptedUtterance,
    tone_frames,
)
from parley.contract import silence
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    CallEvent,
    CallEventKind,
    ChatMessage,
    HandOff,
    InvalidAudioError,
    LatencyStage,
    ModelOptions,
    Participant,
    RateLimitedError,
    ResponseDone,
    Role,
    StreamClosed,
    TextDelta,
    ToolCall,
    Voice,
)

# ManualClock -------------------------------------------------------------------------------


async def test_manual_clock_wakes_each_sleeper_at_its_own_deadline() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def pacer() -> None:
        start = clock.now_ms()
        for n in range(1, 6):
            await clock.sleep_until(start + n * 20)
            ticks.append(clock.now_ms())

    task = asyncio.create_task(pacer())
    await clock.advance(100)
    await task
    assert ticks == [20.0, 40.0, 60.0, 80.0, 100.0]


async def test_manual_clock_does_not_move_by_itself() -> None:
    clock = ManualClock(start_ms=1000)
    task = asyncio.create_task(clock.sleep(10))
    await clock.settle()
    assert not task.done() and clock.pending == 1 and clock.next_deadline_ms == 1010
    assert await clock.advance_to_next()
    assert task.done() and clock.now_ms() == 1010
    assert not await clock.advance_to_next()


async def test_manual_clock_refuses_to_go_back() -> None:
    clock = ManualClock(start_ms=50)
    with pytest.raises(ValueError, match="monotonic"):
        clock.set_time(10)
    with pytest.raises(ValueError, match="negative"):
        await clock.advance(-1)


async def test_set_time_releases_due_sleepers() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(30))
    await clock.settle()
    clock.set_time(30)
    await asyncio.wait_for(task, 1)


# ScriptedLanguageModel ---------------------------------------------------------------------

HI = [ChatMessage(Role.USER, "hi there")]


async def test_scripted_model_paces_tokens_on_the_clock() -> None:
    clock = ManualClock()
    model = ScriptedLanguageModel(
        ["one two three"], clock=clock, time_to_first_token_ms=300, tokens_per_second=10
    )
    seen: list[tuple[float, object]] = []

    async def consume() -> None:
        async for event in model.stream(HI, [], ModelOptions()):
            seen.append((clock.now_ms(), event))

    task = asyncio.create_task(consume())
    await clock.advance(1000)
    await task
    deltas = [(at, e.text) for at, e in seen if isinstance(e, TextDelta)]
    assert deltas == [(300.0, "one"), (400.0, " two"), (500.0, " three")]
    assert isinstance(seen[-1][1], ResponseDone)
    assert model.requests[0].messages == tuple(HI)
    assert (model.started, model.completed) == (1, 1)


async def test_scripted_model_fails_after_the_scripted_tokens() -> None:
    model = ScriptedLanguageModel(
        [ScriptedTurn.failing(RateLimitedError("slow down"), after_tokens=1, text="a b c")]
    )
    texts: list[str] = []
    with pytest.raises(RateLimitedError):
        async for event in model.stream(HI, [], ModelOptions()):
            if isinstance(event, TextDelta):
                texts.append(event.text)
    assert texts == ["a"]
    assert model.failed == 1


async def test_scripted_model_counts_a_closed_stream_as_cancelled() -> None:
    model = ScriptedLanguageModel(["a b c"])
    stream = model.stream(HI, [], ModelOptions())
    await anext(stream)
    await stream.aclose()
    assert (model.cancelled, model.completed) == (1, 0)


def test_scripted_model_needs_a_clock_for_delays() -> None:
    with pytest.raises(ValueError, match="clock"):
        ScriptedLanguageModel(time_to_first_token_ms=100)


# FakeSpeechToText --------------------------------------------------------------------------


async def test_fake_stt_emits_growing_partials_then_the_final_on_end_of_speech() -> None:
    stt = FakeSpeechToText(["pay my bill"], partial_every_ms=200)
    async with stt.session(PCM16_16K) as session:
        for frame in silence(PCM16_16K, 100) + tone_frames(PCM16_16K, 600, start_ms=100):
            session.push(frame)
        session.end_of_speech()
        await session.flush()
        events = [e async for e in session.events()]
    assert [(e.text, e.is_final) for e in events] == [
        ("pay", False),
        ("pay my", False),
        ("pay my bill", False),
        ("pay my bill", True),
    ]
    assert (events[-1].start_ms, events[-1].end_ms) == (100.0, 700.0)
    assert stt.remaining == 0


async def test_fake_stt_endpoints_by_itself_after_silence() -> None:
    stt = FakeSpeechToText(
        [ScriptedUtterance("yes", partials=("ye",)), "no"], endpoint_silence_ms=300
    )
    async with stt.session(PCM16_16K) as session:
        for _ in range(2):
            for frame in tone_frames(PCM16_16K, 400) + silence(PCM16_16K, 300):
                session.push(frame)
        await session.aclose()
        finals = [e.text async for e in session.events() if e.is_final]
    assert finals == ["yes", "no"]


async def test_fake_stt_gives_back_an_utterance_too_short_to_be_words() -> None:
    stt = FakeSpeechToText(["hello"], min_speech_ms=200, partial_every_ms=20)
    async with stt.session(PCM16_16K) as session:
        for frame in tone_frames(PCM16_16K, 60):
            session.push(frame)
        session.end_of_speech()
        await session.aclose()
    assert stt.remaining == 1


# FakeTextToSpeech --------------------------------------------------------------------------


async def test_fake_tts_audio_length_follows_the_text() -> None:
    tts = FakeTextToSpeech(ms_per_char=10)
    chunks = [c async for c in tts.synthesize("  Hi there ", voice=Voice(), fmt=PCM16_24K)]
    assert sum(c.audio.duration_ms for c in chunks) == pytest.approx(80.0)
    words = [w for c in chunks for w in c.words]
    assert [(w.text_offset, w.audio_offset_ms, w.duration_ms) for w in words] == [
        (2, 0.0, 20.0),
        (5, 30.0, 50.0),
    ]
    assert [len(c.audio.data) for c in chunks] == [960, 960, 960, 960]


async def test_fake_tts_mulaw_tone_is_audible() -> None:
    tts = FakeTextToSpeech()
    chunk = await anext(tts.synthesize("Hello", voice=Voice(), fmt=MULAW_8K))
    assert len(chunk.audio.data) == 160
    assert len(set(chunk.audio.data)) > 2


# FakeMediaStream / FakeCallControl / FakeVad / metrics / tools -----------------------------


async def test_fake_media_stream_stamps_outbound_audio_with_the_clock() -> None:
    clock = ManualClock(start_ms=500)
    stream = FakeMediaStream(PCM16_16K, clock=clock)
    frames = tone_frames(PCM16_16K, 40)
    await stream.send_audio(frames[0])
    await clock.advance(20)
    await stream.send_audio(frames[1])
    await stream.stop_audio()
    assert [(o.kind, o.at_ms) for o in stream.outbound] == [
        ("audio", 500.0),
        ("audio", 520.0),
        ("stop_audio", 520.0),
    ]
    assert (stream.sent_audio_ms, stream.stop_audio_count) == (40.0, 1)
    with pytest.raises(InvalidAudioError):
        await stream.send_audio(tone_frames(PCM16_24K, 20)[0])


async def test_fake_media_stream_feeding_stream_closed_closes_it() -> None:
    stream = FakeMediaStream()
    stream.feed(StreamClosed("idle_timeout"))
    events = [e async for e in stream.events()]
    assert events[-1] == StreamClosed("idle_timeout")
    assert stream.closed and stream.close_reason == "idle_timeout"


async def test_fake_call_control_ends_the_event_stream_on_transfer() -> None:
    control = FakeCallControl()
    control.add_call("acs-1")
    control.emit(CallEvent(CallEventKind.RECOGNIZE_COMPLETED, "acs-1", tones=("4", "2")))
    await control.transfer("acs-1", Participant.phone("+15550100"), operation_context="t")
    kinds = [e.kind async for e in control.events("acs-1")]
    assert kinds == [
        CallEventKind.RECOGNIZE_COMPLETED,
        CallEventKind.TRANSFER_ACCEPTED,
        CallEventKind.CALL_DISCONNECTED,
    ]
    assert [op.name for op in control.operations] == ["transfer"]
    assert not control.is_active("acs-1")


def test_fake_vad_follows_its_script_then_energy() -> None:
    factory = FakeVadFactory(scripts=[[0.9, 0.1]])
    vad = factory(PCM16_16K)
    frame = silence(PCM16_16K, 20)[0]
    assert [vad.speech_probability(frame) for _ in range(3)] == [0.9, 0.1, 0.0]
    assert factory(PCM16_16K).speech_probability(tone_frames(PCM16_16K, 20)[0]) > 0.5


def test_recording_metrics_counts_in_dicts() -> None:
    metrics = RecordingMetrics()
    metrics.call_started()
    metrics.frame_dropped("bad_base64")
    metrics.latency(LatencyStage.VOICE_TO_VOICE, 640.0)
    metrics.provider_error("llm", "timeout")
    metrics.call_ended()
    assert metrics.counts == {"call_started": 1, "call_ended": 1}
    assert metrics.dropped == {"bad_base64": 1}
    assert metrics.latencies[LatencyStage.VOICE_TO_VOICE] == [640.0]
    assert metrics.provider_errors == {("llm", "timeout"): 1}
    assert metrics.active_calls == 0


async def test_function_tools_time_out_on_the_manual_clock_and_return_actions() -> None:
    clock = ManualClock()
    executor = FunctionToolExecutor(clock=clock)

    async def wait_forever() -> str:
        await asyncio.Event().wait()
        return "never"

    executor.add_function(wait_forever)
    executor.add_function(lambda: HandOff("billing", "asked"), name="to_billing")
    task = asyncio.create_task(executor.run(ToolCall("c1", "wait_forever"), timeout_ms=5000))
    await clock.advance(4999)
    assert not task.done()
    await clock.advance(1)
    result = await task
    assert result.is_error and "timed out" in result.content
    handed = await executor.run(ToolCall("c2", "to_billing"), timeout_ms=10)
    assert handed.action == HandOff("billing", "asked") and not handed.is_error
