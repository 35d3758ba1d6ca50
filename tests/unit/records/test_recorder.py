"""The call recorder around a call: header, lines, tool calls, outcome, recordings, summary.

The core's handler is a small scripted stand-in (it reads the media, sends audio, writes
transcript lines through the teed log and reports a tool call), so each behaviour of the
recorder is visible on its own; the whole runtime is covered by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from adapters.audio.call_recording import WavCallRecorder
from adapters.memory import FakeMediaStream, ManualClock, MemoryTranscriptLog, tone_frames
from adapters.memory.call_history import MemoryCallHistory
from domain.records import (
    CallerMode,
    CallRecorder,
    PrivacyPolicy,
    RecordedCallHandler,
    RecordedMediaStream,
    RecordingMode,
    RecordingTranscriptLog,
    RecordingWhen,
    RecordsConfig,
    TranscriptMode,
)
from ports import (
    PCM16_16K,
    AudioReceived,
    CallEvent,
    CallEventKind,
    CallInfo,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    StreamClosed,
    TranscriptEntry,
    UpdateKind,
)
from ports.call_history import CallRecord, RecordingRef

T0 = 1_760_000_000_000


@dataclass
class FakeRecording:
    """A provider recording that answers at once."""

    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    async def start(self, call_id: str) -> RecordingRef:
        self.started.append(call_id)
        return RecordingRef("acs", f"rec-{call_id}", "requested")

    async def stop(self, recording_id: str) -> None:
        self.stopped.append(recording_id)

    async def delete(self, recording: RecordingRef) -> None:
        return None


class ScriptedCore:
    """Stands in for the runtime: reads media, writes lines, reports a tool call."""

    def __init__(self, log: RecordingTranscriptLog, clock: ManualClock, end_reason: str) -> None:
        self.log = log
        self.clock = clock
        self.end_reason = end_reason
        self.agent = "concierge"

    async def handle_call(self, call: InboundCall) -> CallSummary:
        cid = call.info.call_id
        await self.log.append(cid, TranscriptEntry("assistant", "Hello!", 100.0, self.agent))
        stream = call.media.events()
        heard = 0
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, AudioReceived):
                await call.media.send_audio(event.frame)  # an echo, on the agent's channel
                heard += 1
            if heard == 10 or isinstance(event, StreamClosed):
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert call.observer is not None
        call.observer.on_update(
            ConversationUpdate(
                UpdateKind.TOOL_CALL, "lock_card", "fraud", {"id": "t1", "arguments": {"n": "4242"}}
            )
        )
        await self.log.append(cid, TranscriptEntry("user", "lock card 4242", 250.0, "fraud"))
        latency = {"voice_to_voice": 812.0, "marks": {"final": 260.0, "first_frame": 1072.0}}
        await self.log.append(
            cid, TranscriptEntry("turn_latency", "", 1080.0, "fraud", data=latency)
        )
        if call.call_events is not None:
            async for event in call.call_events:
                if event.kind is CallEventKind.CALL_DISCONNECTED:
                    break
        return CallSummary(cid, self.end_reason, user_turns=1, agent_turns=1, duration_ms=1200.0)


async def events(*items: CallEvent) -> AsyncIterator[CallEvent]:
    for item in items:
        yield item


async def run(
    *,
    config: RecordsConfig | None = None,
    privacy: PrivacyPolicy | None = None,
    end_reason: str = "hang_up",
    call_events: tuple[CallEvent, ...] | None = None,
    telephony: bool = False,
    tmp: Path | None = None,
) -> tuple[CallRecord, CallRecorder, FakeRecording]:
    clock = ManualClock(start_ms=50.0)
    history = MemoryCallHistory()
    recording = FakeRecording()
    recorder = CallRecorder(
        history,
        clock=clock,
        wall_ms=lambda: T0,
        privacy=privacy,
        config=config or RecordsConfig(start_agent="concierge", instance_id="i-1"),
        recording=recording,
        audio=WavCallRecorder(tmp) if tmp is not None else None,
    )
    submitted: list[str] = []
    recorder.submit_summary = submitted.append
    log = RecordingTranscriptLog(MemoryTranscriptLog(clock, 60_000), recorder)
    handler = RecordedCallHandler(ScriptedCore(log, clock, end_reason), recorder)
    media = FakeMediaStream(PCM16_16K, "call-1")
    media.feed_audio(*tone_frames(PCM16_16K, 200))
    info = CallInfo(
        "call-1", "acs", caller="+14255550123", callee="+14255550199", telephony=telephony
    )
    stream = events(*call_events) if call_events is not None else None
    summary = await handler.handle_call(InboundCall(info, media, call_events=stream))
    assert summary.call_id == "call-1"
    assert await recorder.flush(timeout_s=5)
    assert submitted == ["call-1"]
    record = await history.get("call-1")
    assert record is not None
    return record, recorder, recording


async def test_a_call_leaves_its_header_lines_tool_call_and_outcome() -> None:
    record, _, _ = await run()
    header = record.header
    assert (header.started_at_ms, header.ended_at_ms) == (T0, T0)
    assert header.caller == "+14255550123" and header.instance_id == "i-1"
    assert header.agents == ("concierge", "fraud")
    assert (header.outcome, header.end_reason, header.user_turns) == ("resolved", "hang_up", 1)
    assert [line.kind for line in record.lines] == [
        "assistant",
        "tool_call",
        "user",
        "turn_latency",
    ]
    assert [line.seq for line in record.lines] == [0, 1, 2, 3]
    tool = record.lines_of("tool_call")[0]
    assert tool.data == {"name": "lock_card", "call_id": "t1", "arguments": {"n": "4242"}}
    # Offsets count from the call's start on the runtime clock (50 ms), latency marks too.
    assert record.lines[0].offset_ms == 50.0
    latency = record.lines_of("turn_latency")[0].data
    assert latency["marks"] == {"final": 210.0, "first_frame": 1022.0}


async def test_caller_numbers_and_words_are_stored_as_the_policy_says() -> None:
    privacy = PrivacyPolicy(CallerMode.HASH, TranscriptMode.REDACT, b"0123456789abcdef")
    record, _, _ = await run(privacy=privacy)
    assert record.header.caller.startswith("h:") and "4255550123" not in record.header.caller
    assert record.header.caller == privacy.number("+14255550123")
    assert record.lines_of("user")[0].text == "lock card [number]"
    assert record.lines_of("tool_call")[0].data["arguments"] == {"n": "[number]"}


async def test_a_call_that_ends_in_an_accepted_transfer_is_transferred() -> None:
    accepted = CallEvent(CallEventKind.TRANSFER_ACCEPTED, "call-1")
    gone = CallEvent(CallEventKind.CALL_DISCONNECTED, "call-1")
    record, _, _ = await run(end_reason="remote_closed", call_events=(accepted, gone))
    assert record.header.outcome == "transferred"


async def test_the_outcome_follows_how_the_call_ended() -> None:
    record, _, _ = await run(end_reason="remote_closed")
    assert record.header.outcome == "resolved"  # one caller turn happened
    record, _, _ = await run(end_reason="error")
    assert record.header.outcome == "failed"


async def test_a_recorded_telephony_call_gets_its_acs_recording_and_own_wav(tmp_path: Path) -> None:
    config = RecordsConfig(
        start_agent="concierge",
        recording=RecordingWhen.ALL,
        recording_mode=RecordingMode.BOTH,
    )
    record, _, provider = await run(config=config, telephony=True, tmp=tmp_path)
    assert provider.started == ["call-1"] and provider.stopped == ["rec-call-1"]
    kinds = {r.kind: r for r in record.recordings}
    assert kinds["acs"].recording_id == "rec-call-1"
    wav = kinds["wav"]
    assert wav.state == "available" and wav.duration_ms >= 200.0
    with wave.open(wav.location) as file:
        assert (file.getnchannels(), file.getframerate()) == (2, 16000)
        frames = file.readframes(file.getnframes())
    # The agent echoed the caller: both channels carry the tone.
    left = frames[0::4] + frames[1::4]
    right = frames[2::4] + frames[3::4]
    assert any(left) and any(right)


async def test_with_agents_mode_only_a_recording_agent_starts_the_recording() -> None:
    config = RecordsConfig(
        start_agent="concierge",
        recording=RecordingWhen.AGENTS,
        recording_agents=frozenset({"fraud"}),
        recording_mode=RecordingMode.ACS,
    )
    _, _, provider = await run(config=config, telephony=True)
    assert provider.started == ["call-1"]  # started when fraud took part
    config = RecordsConfig(
        start_agent="concierge",
        recording=RecordingWhen.AGENTS,
        recording_agents=frozenset({"nobody"}),
        recording_mode=RecordingMode.ACS,
    )
    _, _, provider = await run(config=config, telephony=True)
    assert provider.started == []


async def test_lines_of_calls_the_recorder_does_not_know_are_ignored() -> None:
    recorder = CallRecorder(MemoryCallHistory(), clock=ManualClock(), wall_ms=lambda: T0)
    recorder.line("unknown", TranscriptEntry("user", "hi"))
    assert await recorder.flush(timeout_s=1)
    assert recorder.dropped == 0


async def test_a_full_write_queue_drops_and_counts_instead_of_growing() -> None:
    history = MemoryCallHistory()
    recorder = CallRecorder(history, clock=ManualClock(), wall_ms=lambda: T0, max_queued=2)
    live = recorder.begin(CallInfo("c", "test"))
    for n in range(5):
        recorder.line("c", TranscriptEntry("user", f"{n}"))
    assert recorder.dropped == 4  # the header took one place, one line the other
    await asyncio.sleep(0)
    assert await recorder.flush(timeout_s=1)
    recorder.finish(live, CallSummary("c", "hang_up"))
    await recorder.aclose()


async def test_the_media_wrapper_offers_non_waiting_sends_exactly_when_the_stream_does(
    tmp_path: Path,
) -> None:
    recorder = CallRecorder(MemoryCallHistory(), clock=ManualClock(), wall_ms=lambda: T0)
    live = recorder.begin(CallInfo("c", "test"))
    live.audio = WavCallRecorder(tmp_path).open("c", PCM16_16K)
    media = FakeMediaStream(PCM16_16K, "c")
    wrapped = RecordedMediaStream(media, recorder, live)
    frame = tone_frames(PCM16_16K, 20)[0]
    assert wrapped.try_send_audio is not None and wrapped.try_send_audio(frame)
    assert media.sent_frames == [frame]

    class Plain:
        """A stream without try_send_audio."""

    assert RecordedMediaStream(Plain(), recorder, live).try_send_audio is None  # type: ignore[arg-type]
    await live.audio.close()
    await recorder.aclose()
