"""The runtime's own mechanics, driven by a stub conversation and every fake."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import ScriptedTurn
from domain import commands as cmds
from domain import events as ev
from domain.runtime import RuntimeConfig
from ports import (
    LatencyStage,
    ProviderUnavailableError,
    RateLimitedError,
    ToolCall,
    Voice,
)

from .harness import call_tasks, make_rig
from .stub_conversation import StubConversation

LONG = " ".join(["word"] * 60)  # 60 words, 299 chars: about 18 s of fake speech


def speak_on_start(text: str = LONG):
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.Speak("s1", text, voice=Voice())]
        return []

    return react


async def test_frames_leave_on_an_absolute_schedule_of_their_duration_with_the_lead():
    conv = StubConversation(speak_on_start())
    rig = make_rig(conversation=conv, config=RuntimeConfig(pacing_lead_ms=100))
    await rig.start()
    t0 = rig.clock.now_ms()
    await rig.silence(4000)
    times = [o.at_ms - t0 for o in rig.media.outbound if o.kind == "audio"]
    assert len(times) > 150
    # Frame n leaves at start + 20 n - lead (never before start): 100 ms of lead, no drift.
    assert times == [max(0.0, 20.0 * n - 100.0) for n in range(len(times))]
    await rig.hang_up_remote()


async def test_speeches_play_back_to_back_without_a_gap():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.Speak("a", "one two three"), cmds.Speak("b", "four five six")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, config=RuntimeConfig(pacing_lead_ms=0))
    await rig.start()
    t0 = rig.clock.now_ms()
    await rig.silence(3000)
    frames = [o for o in rig.media.outbound if o.kind == "audio"]
    expected = rig.tts.duration_ms("one two three") + rig.tts.duration_ms("four five six")
    assert sum(o.frame.duration_ms for o in frames) == pytest.approx(expected, abs=40)
    assert [o.at_ms - t0 for o in frames] == [20.0 * n for n in range(len(frames))]
    completed = conv.of(ev.PlaybackCompleted)
    assert [c.speech_id for c in completed] == ["a", "b"]
    await rig.hang_up_remote()


async def test_stop_playback_drops_queued_audio_and_calls_stop_audio_at_once():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.Speak("s1", LONG), cmds.Speak("s2", LONG)]
        if isinstance(event, ev.DtmfDigit):
            return [cmds.StopPlayback("barge_in")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv)
    await rig.start()
    await rig.silence(1000)
    rig.media.feed_dtmf("1")
    await rig.clock.settle()
    stop_at = rig.clock.now_ms()
    await rig.silence(1000)
    kinds = [o.kind for o in rig.media.outbound]
    assert kinds.count("stop_audio") == 1
    assert "audio" not in kinds[kinds.index("stop_audio") :]
    stop = next(o for o in rig.media.outbound if o.kind == "stop_audio")
    assert stop.at_ms == stop_at
    assert rig.tts.active == 0 and rig.tts.cancelled == 1
    assert conv.of(ev.PlaybackCompleted) == []
    assert rig.metrics.counts["barge_in"] == 1
    await rig.hang_up_remote()


async def test_progress_reports_exactly_the_words_sent():
    conv = StubConversation(speak_on_start("alpha beta gamma delta epsilon"))
    rig = make_rig(conversation=conv, config=RuntimeConfig(pacing_lead_ms=0))
    await rig.start()
    await rig.silence(3000)
    progress = conv.of(ev.PlaybackProgress)
    assert progress
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    for p in progress:
        assert p.played_text is not None
        # A word counts as sent once audio from its start has been sent (60 ms per char).
        started = [
            w
            for i, w in enumerate(words)
            if (len(" ".join(words[:i])) + (1 if i else 0)) * 60.0 < p.played_ms
        ]
        assert p.played_text.split() == started, p
    assert conv.of(ev.PlaybackCompleted)[0].duration_ms == pytest.approx(
        rig.tts.duration_ms("alpha beta gamma delta epsilon"), abs=20
    )
    await rig.hang_up_remote()


async def test_vad_smoothing_reports_onset_and_end_of_speech():
    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv, config=RuntimeConfig(speech_start_ms=60, speech_stop_ms=400))
    await rig.start()
    await rig.silence(200)
    onset = rig.clock.now_ms()
    await rig.say(600)
    spoke_until = rig.clock.now_ms()
    await rig.silence(1000)
    started = conv.of(ev.UserSpeechStarted)
    stopped = conv.of(ev.UserSpeechStopped)
    assert [s.at_ms for s in started] == [onset]
    # The 20th quiet frame completes 400 ms of silence; it arrives at spoke_until + 380.
    assert [s.at_ms for s in stopped] == [spoke_until + 380]
    assert rig.stt.sessions[0].end_of_speech_calls == 1
    await rig.hang_up_remote()


async def test_transcripts_from_speech_to_text_reach_the_conversation_and_the_observer():
    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv, heard=["I need help with my card"])
    await rig.start()
    await rig.say(800)
    await rig.silence(800)
    finals = conv.of(ev.FinalTranscript)
    assert [f.text for f in finals] == ["I need help with my card"]
    assert conv.of(ev.PartialTranscript)[0].text == "I"
    assert "transcript_final" in rig.observer.kinds()
    await rig.hang_up_remote()


async def test_a_turn_records_every_latency_stage():
    def react(event):
        if isinstance(event, ev.FinalTranscript):
            return [cmds.StartResponse("r1", "stub", ())]
        if isinstance(event, ev.ResponseTextDelta) and event.text.strip() == "Sure.":
            return [cmds.Speak("s1", "Sure.", response_id="r1")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, heard=["hello"], turns=["Sure."], llm_ttft_ms=300)
    await rig.start()
    await rig.say(400)
    await rig.silence(1500)
    records = [e for e in await rig.transcript() if e.kind == "turn_latency"]
    assert len(records) == 1
    data = records[0].data
    assert data[LatencyStage.END_OF_SPEECH_TO_FINAL.value] == 0.0
    assert data[LatencyStage.FINAL_TO_FIRST_TOKEN.value] == 300.0
    assert data[LatencyStage.FIRST_TOKEN_TO_FIRST_AUDIO.value] == 0.0
    assert data[LatencyStage.FIRST_AUDIO_TO_FIRST_FRAME.value] == 0.0
    assert data[LatencyStage.VOICE_TO_VOICE.value] == 300.0
    assert rig.metrics.latencies[LatencyStage.VOICE_TO_VOICE] == [300.0]
    await rig.hang_up_remote()


async def test_a_model_error_becomes_response_failed_with_its_code():
    def react(event):
        if isinstance(event, ev.DtmfDigit):
            return [cmds.StartResponse("r1", "stub", ())]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, turns=[ScriptedTurn.failing(RateLimitedError("slow"))])
    await rig.start()
    rig.media.feed_dtmf("1")
    await rig.silence(100)
    assert [(f.response_id, f.error_code) for f in conv.of(ev.ResponseFailed)] == [
        ("r1", "rate_limited")
    ]
    assert rig.metrics.provider_errors[("language_model", "rate_limited")] == 1
    await rig.hang_up_remote()


async def test_a_silent_model_times_out_on_the_clock():
    def react(event):
        if isinstance(event, ev.DtmfDigit):
            return [cmds.StartResponse("r1", "stub", ())]
        return []

    conv = StubConversation(react)
    rig = make_rig(
        conversation=conv,
        turns=["never heard"],
        llm_ttft_ms=60_000,
        config=RuntimeConfig(first_token_timeout_ms=2000, watchdog_tick_ms=20),
    )
    await rig.start()
    rig.media.feed_dtmf("1")
    await rig.silence(1980)
    assert conv.of(ev.ResponseFailed) == []
    await rig.silence(60)
    assert [f.error_code for f in conv.of(ev.ResponseFailed)] == ["timeout"]
    assert rig.llm.cancelled == 1
    await rig.hang_up_remote()


async def test_a_failing_synthesis_becomes_provider_failed_and_still_completes():
    conv = StubConversation(speak_on_start("hello there caller"))
    rig = make_rig(conversation=conv)
    rig.tts.fail_with = ProviderUnavailableError("down", port="text_to_speech")
    rig.tts.fail_after_chunks = 3
    await rig.start()
    await rig.silence(500)
    assert [(p.port, p.error_code) for p in conv.of(ev.ProviderFailed)] == [
        ("text_to_speech", "unavailable")
    ]
    assert [c.speech_id for c in conv.of(ev.PlaybackCompleted)] == ["s1"]
    assert rig.sent_ms() == 60.0
    await rig.hang_up_remote()


async def test_a_failing_recognizer_becomes_provider_failed_and_is_reopened():
    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv)
    rig.stt.fail_with = ProviderUnavailableError("gone", port="speech_to_text")
    rig.stt.fail_after_ms = 100
    await rig.start()
    await rig.silence(400)
    assert conv.of(ev.ProviderFailed)[0].port == "speech_to_text"
    assert len(rig.stt.sessions) >= 2
    assert rig.stt.sessions[0].closed
    await rig.hang_up_remote()


async def test_tools_run_through_the_executor_and_complete():
    def react(event):
        if isinstance(event, ev.DtmfDigit):
            return [cmds.RunTool("r1", ToolCall("c1", "balance", {"account": "1"}))]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv)
    rig.tools.add_function(lambda account: {"balance": 42}, name="balance")
    await rig.start()
    rig.media.feed_dtmf("1")
    await rig.silence(40)
    [done] = conv.of(ev.ToolCompleted)
    assert done.result.content == '{"balance": 42}' and not done.result.is_error
    assert "tool_call" in rig.observer.kinds()
    await rig.hang_up_remote()


async def test_timers_fire_on_the_clock_and_can_be_cancelled():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.StartTimer("a", 500, 1), cmds.StartTimer("b", 300, 2)]
        if isinstance(event, ev.TimerFired) and event.name == "b":
            return [cmds.CancelTimer("a")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv)
    await rig.start()
    t0 = rig.clock.now_ms()
    await rig.silence(1000)
    assert [(t.name, t.token, t.at_ms - t0) for t in conv.of(ev.TimerFired)] == [("b", 2, 300)]
    await rig.hang_up_remote()


async def test_session_saves_are_debounced_and_the_last_state_is_stored():
    def react(event):
        return [cmds.SaveSession()] if isinstance(event, ev.DtmfDigit) else []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, config=RuntimeConfig(save_debounce_ms=200))
    await rig.start()
    rig.media.feed_dtmf("123")
    await rig.silence(400)
    stored = await rig.sessions.get("call-1")
    assert stored is not None and stored.version == 1
    await rig.hang_up_remote()


async def test_a_concurrent_session_write_is_resolved_by_rereading_the_version():
    def react(event):
        return [cmds.SaveSession()] if isinstance(event, ev.DtmfDigit) else []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, config=RuntimeConfig(save_debounce_ms=0))
    await rig.sessions.put("call-1", {"other": "writer"}, expected_version=None)
    await rig.start()
    rig.media.feed_dtmf("1")
    await rig.silence(100)
    stored = await rig.sessions.get("call-1")
    assert stored is not None and stored.version == 2 and stored.state["call_id"] == "call-1"
    await rig.hang_up_remote()


async def test_hang_up_waits_for_queued_speech_then_closes_a_browser_call():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.Speak("bye", "Goodbye now."), cmds.HangUp("done")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "hang_up"
    assert rig.sent_ms() == pytest.approx(rig.tts.duration_ms("Goodbye now."), abs=20)
    assert rig.media.closed


async def test_hang_up_of_a_telephony_call_goes_through_call_control():
    def react(event):
        return [cmds.HangUp("done")] if isinstance(event, ev.CallStarted) else []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, telephony=True)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "hang_up"
    assert [op.name for op in rig.call_control.operations] == ["hang_up"]


async def test_an_accepted_transfer_ends_the_call_as_a_transfer():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.TransferCall("+15550199", "human")]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, telephony=True)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "transfer"
    assert [t.accepted for t in conv.of(ev.TransferResult)] == [True]
    [op] = rig.call_control.operations
    assert op.name == "transfer"


async def test_telephony_dtmf_and_disconnect_events_reach_the_conversation():
    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv, telephony=True)
    await rig.start()
    rig.call_control.emit(ev_call(rig, "RecognizeCompleted", tones=("4", "2")))
    await rig.silence(40)
    assert [d.digit for d in conv.of(ev.DtmfDigit)] == ["4", "2"]
    rig.call_control.emit(ev_call(rig, "CallDisconnected"))
    summary = await rig.result()
    assert summary.end_reason == "CallDisconnected"
    assert [e.reason for e in conv.of(ev.CallEnded)] == ["CallDisconnected"]


def ev_call(rig, kind, **kw):
    from ports import CallEvent, CallEventKind

    return CallEvent(CallEventKind(kind), rig.info.call_id, **kw)


async def test_no_task_outlives_the_call():
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [
                cmds.Speak("s1", LONG),
                cmds.StartTimer("t", 60_000),
                cmds.StartResponse("r1", "stub", ()),
                cmds.SaveSession(),
            ]
        return []

    before = call_tasks()
    conv = StubConversation(react)
    rig = make_rig(conversation=conv, turns=["slow reply"], llm_ttft_ms=50_000)
    await rig.start()
    await rig.say(300)
    assert len(call_tasks() - before) > 5
    rig.media.remote_close()
    summary = await rig.result()
    assert summary.end_reason == "remote_closed"
    assert call_tasks() - before == set()
    assert rig.tts.active == 0
    assert rig.stt.sessions[0].closed
    assert rig.metrics.active_calls == 0


async def test_cancelling_handle_call_ends_the_call_cleanly():
    conv = StubConversation(speak_on_start())
    before = call_tasks()
    rig = make_rig(conversation=conv)
    await rig.start()
    await rig.silence(200)
    assert rig.task is not None
    rig.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rig.task
    assert call_tasks() - before == set()
    assert rig.media.closed
    assert [e.reason for e in conv.of(ev.CallEnded)] == ["cancelled"]


async def test_a_timer_started_by_speech_onset_counts_from_the_onset():
    def react(event):
        if isinstance(event, ev.UserSpeechStarted):
            return [cmds.StartTimer("barge_in", 300)]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, config=RuntimeConfig(speech_start_ms=100))
    await rig.start()
    await rig.silence(100)
    onset = rig.clock.now_ms()
    await rig.say(600)
    [started] = conv.of(ev.UserSpeechStarted)
    [fired] = conv.of(ev.TimerFired)
    assert started.at_ms == onset
    assert fired.at_ms == onset + 300
    await rig.hang_up_remote()


async def test_a_frame_in_the_wrong_format_is_dropped_and_counted_and_the_call_goes_on():
    from adapters.memory import tone_frame
    from ports import PCM16_24K

    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv)
    await rig.start()
    rig.media.feed_audio(tone_frame(PCM16_24K, 20))
    await rig.say(200)
    assert rig.metrics.dropped["wrong_format"] == 1
    assert rig.metrics.counts["frame_in"] == 10
    assert conv.of(ev.UserSpeechStarted)
    await rig.hang_up_remote()


async def test_a_silent_media_stream_ends_the_call_after_the_idle_timeout():
    conv = StubConversation(lambda event: [])
    rig = make_rig(
        conversation=conv, config=RuntimeConfig(media_idle_timeout_ms=1000, watchdog_tick_ms=50)
    )
    await rig.start()
    await rig.silence(200)
    await rig.clock.advance(900)
    assert not rig.done
    await rig.clock.advance(300)
    summary = await rig.result()
    assert summary.end_reason == "idle_timeout"
    assert rig.media.closed


async def test_a_failing_transcript_store_is_counted_and_does_not_disturb_the_call():
    from ports import StoreUnavailableError

    def react(event):
        if isinstance(event, ev.DtmfDigit):
            from ports import TranscriptEntry

            return [cmds.EmitTranscript(TranscriptEntry("user", event.digit))]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv)
    rig.transcripts.fail_with = StoreUnavailableError("down")
    await rig.start()
    rig.media.feed_dtmf("12")
    await rig.silence(100)
    assert rig.metrics.provider_errors[("transcript_log", "store_unavailable")] == 2
    assert conv.of(ev.ProviderFailed) == []
    summary = await rig.hang_up_remote()
    # The summary's counters come from the conversation's state (the stub keeps none); the
    # call itself went on to its normal end.
    assert summary.end_reason == "remote_closed"
    assert rig.transcripts.fail_with is not None


class BrokenModel:
    """A model adapter with a bug: it raises a non-port exception mid-stream."""

    async def stream(self, messages, tools, options):
        from ports import TextDelta

        yield TextDelta("Hel")
        raise RuntimeError("adapter bug")


async def test_a_non_port_exception_from_an_adapter_becomes_a_failure_event():
    def react(event):
        if isinstance(event, ev.DtmfDigit):
            return [cmds.StartResponse("r1", "stub", ())]
        return []

    conv = StubConversation(react)
    rig = make_rig(conversation=conv, llm=BrokenModel())
    await rig.start()
    rig.media.feed_dtmf("1")
    await rig.silence(100)
    assert [d.text for d in conv.of(ev.ResponseTextDelta)] == ["Hel"]
    assert [(f.response_id, f.error_code) for f in conv.of(ev.ResponseFailed)] == [
        ("r1", "provider_error")
    ]
    summary = await rig.hang_up_remote()
    assert summary.end_reason == "remote_closed"


async def test_a_recognition_session_closed_under_the_runtime_is_replaced():
    conv = StubConversation(lambda event: [])
    rig = make_rig(conversation=conv, heard=["still heard"])
    await rig.start()
    await rig.silence(100)
    await rig.stt.sessions[0].aclose()
    await rig.silence(100)
    assert [(p.port, p.error_code) for p in conv.of(ev.ProviderFailed)] == [
        ("speech_to_text", "stream_closed")
    ]
    assert len(rig.stt.sessions) == 2
    await rig.say(600)
    await rig.silence(800)
    assert [f.text for f in conv.of(ev.FinalTranscript)] == ["still heard"]
    await rig.hang_up_remote()
