"""Per-turn latency records on a manual clock: which turn a record belongs to, barge-in."""

from __future__ import annotations

from adapters.memory import RecordingMetrics
from domain import commands as cmds
from domain import events as ev
from domain.runtime.latency import LatencyTracker
from ports import LatencyStage

from .harness import make_rig
from .stub_conversation import StubConversation

REACTION = LatencyStage.BARGE_IN_REACTION


def tracker() -> tuple[LatencyTracker, RecordingMetrics, list[dict]]:
    metrics = RecordingMetrics()
    records: list[dict] = []
    return LatencyTracker(metrics, records.append), metrics, records


def answer(latency: LatencyTracker, speech_id: str, at_ms: float) -> None:
    latency.first_token(at_ms)
    latency.speech_queued(speech_id, "r-" + speech_id)
    latency.first_audio(speech_id, at_ms + 50)
    latency.first_frame(speech_id, at_ms + 60)


def test_a_turn_begun_by_the_final_that_barges_in_keeps_its_record():
    latency, _, records = tracker()
    latency.speech_started(1000)
    latency.speech_stopped(1600)
    latency.final_transcript(1700)
    answer(latency, "s1", 2000)  # the reply plays from 2060
    latency.speech_started(2500)
    latency.final_transcript(3000)  # this final decides the barge-in at 3000
    latency.stop_audio_called(latency.barge_in_onset_ms, 3000)
    latency.barge_in(3000)
    answer(latency, "s2", 3400)
    turns = [r for r in records if REACTION.value not in r]
    assert len(turns) == 2
    assert turns[1]["marks"]["final"] == 3000
    assert turns[1][LatencyStage.FINAL_TO_FIRST_TOKEN.value] == 400


def test_a_turn_whose_answer_never_played_is_dropped_at_a_later_barge_in():
    latency, _, records = tracker()
    latency.final_transcript(1000)
    latency.first_token(1200)
    latency.speech_queued("s1", "r1")
    latency.barge_in(1500)
    latency.first_frame("s1", 1600)
    assert records == []


def test_barge_in_reaction_counts_from_speech_onset_during_the_agent_reply():
    latency, metrics, records = tracker()
    latency.speech_started(1000)  # a long utterance; the agent answers a first part of it
    latency.final_transcript(3000)
    answer(latency, "s1", 5000)  # first frame at 5060, the caller still talking
    onset = latency.barge_in_onset_ms
    latency.barge_in(11_000)
    latency.stop_audio_called(onset, 11_528)
    assert metrics.latencies[REACTION] == [11_528 - 5060]
    assert records[-1]["marks"] == {"onset": 5060, "stop_audio": 11_528}


def test_barge_in_reaction_counts_from_the_onset_when_the_caller_speaks_over_the_agent():
    latency, metrics, _ = tracker()
    latency.final_transcript(1000)
    answer(latency, "s1", 1200)
    latency.speech_started(2000)
    latency.stop_audio_called(latency.barge_in_onset_ms, 2310)
    assert metrics.latencies[REACTION] == [310]


def test_a_new_reply_after_silence_restarts_the_agent_audio_origin():
    latency, metrics, _ = tracker()
    latency.speech_started(100)
    latency.final_transcript(1000)
    answer(latency, "s1", 1200)  # plays from 1260
    latency.agent_silent()
    latency.speech_started(4000)
    latency.final_transcript(5000)
    answer(latency, "s2", 5100)  # plays from 5160
    latency.stop_audio_called(latency.barge_in_onset_ms, 6000)
    assert metrics.latencies[REACTION] == [840]


async def test_a_final_that_barges_in_gets_its_turn_latency_record_in_the_call():
    def react(event):
        if isinstance(event, ev.FinalTranscript) and event.text == "tell me more":
            return [cmds.StartResponse("r1", "stub", ())]
        if isinstance(event, ev.FinalTranscript) and event.text == "stop":
            return [cmds.StopPlayback("barge_in"), cmds.StartResponse("r2", "stub", ())]
        if isinstance(event, ev.ResponseTextDelta):
            return [cmds.Speak("s-" + event.response_id, event.text, response_id=event.response_id)]
        return []

    long_reply = "one two three four five six seven eight nine ten " * 4
    rig = make_rig(
        conversation=StubConversation(react),
        heard=["tell me more", "stop"],
        turns=[long_reply, "Okay."],
        llm_ttft_ms=200,
    )
    await rig.start()
    await rig.say(400)
    await rig.silence(1500)  # the reply is playing
    await rig.say(400)
    await rig.silence(1500)
    records = [e.data for e in await rig.transcript() if e.kind == "turn_latency"]
    turns = [r for r in records if REACTION.value not in r]
    assert rig.media.stop_audio_count == 1
    assert len(turns) == 2, records
    assert turns[1][LatencyStage.FINAL_TO_FIRST_TOKEN.value] == 200
    await rig.hang_up_remote()
