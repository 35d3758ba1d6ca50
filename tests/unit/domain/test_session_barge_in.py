"""Barge-in policy (issue 2 behaviour 5)."""

from __future__ import annotations

from domain.commands import CancelResponse, EmitTranscript, Speak, StartTimer, StopPlayback
from domain.conversation import Phase
from domain.events import (
    FinalTranscript,
    PartialTranscript,
    PlaybackProgress,
    ResponseTextDelta,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import BargeInPolicy, ConversationPolicy
from ports import Role

from .harness import Call, bank_graph

LONG = "Your balance is one thousand dollars. Your last payment was on Monday. Anything else?"


def speaking_call(policy: BargeInPolicy | None = None, complete: bool = True) -> Call:
    call = Call(policy=ConversationPolicy(barge_in=policy or BargeInPolicy()))
    call.greet()
    call.user_says("what is my balance")
    call.model_says(LONG, complete=complete)
    assert call.state.phase is Phase.SPEAKING
    return call


# -- when it interrupts ------------------------------------------------------------------


def test_speech_of_min_speech_ms_interrupts_via_the_timer_even_without_a_partial() -> None:
    call = speaking_call()
    step = call.send(UserSpeechStarted(call.tick()))
    assert StartTimer("barge_in", 300.0, call.token("barge_in")) in step.commands
    step = call.fire("barge_in", 300)
    assert StopPlayback("barge_in") in step.commands


def test_shorter_speech_does_not_interrupt() -> None:
    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    step = call.send(UserSpeechStopped(call.tick(200)))
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    assert call.state.phase is Phase.SPEAKING


def test_min_speech_ms_is_measured_from_speech_start_to_a_later_event() -> None:
    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    step = call.send(PartialTranscript(call.tick(299), "hold on"))
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    step = call.send(PartialTranscript(call.tick(1), "hold on please"))
    assert StopPlayback("barge_in") in step.commands


def test_min_words_waits_for_a_partial_with_enough_words() -> None:
    call = speaking_call(BargeInPolicy(min_words=3))
    call.send(UserSpeechStarted(call.tick()))
    step = call.fire("barge_in", 400)
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    step = call.send(PartialTranscript(call.tick(), "wait a"))
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    step = call.send(PartialTranscript(call.tick(), "wait a second"))
    assert StopPlayback("barge_in") in step.commands


def test_a_backchannel_partial_never_interrupts() -> None:
    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    call.send(PartialTranscript(call.tick(100), "uh-huh"))
    step = call.fire("barge_in", 300)
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    step = call.send(UserSpeechStopped(call.tick(300)))
    assert not any(isinstance(c, StopPlayback) for c in step.commands)
    step = call.send(FinalTranscript(call.tick(), "Yeah."))
    assert step.noop_reason == "backchannel while the agent speaks"
    assert call.state.phase is Phase.SPEAKING


def test_speech_while_nothing_is_playing_is_not_a_barge_in() -> None:
    call = Call()
    call.greet()
    call.user_says("balance")
    step = call.send(UserSpeechStarted(call.tick()))
    assert step.commands == ()
    assert call.state.phase is Phase.THINKING


# -- on barge-in -------------------------------------------------------------------------


def test_barge_in_stops_playback_and_cancels_the_response_in_the_same_step() -> None:
    call = speaking_call(complete=False)
    rid = call.response_id()
    call.send(UserSpeechStarted(call.tick()))
    step = call.fire("barge_in", 300)
    assert StopPlayback("barge_in") in step.commands
    assert CancelResponse(rid) in step.commands
    assert call.state.response is None
    later = call.send(ResponseTextDelta(call.tick(), rid, "more words. "))
    assert later.noop_reason == "unknown or cancelled response"


def test_history_keeps_only_the_words_heard_from_the_played_text() -> None:
    call = speaking_call(BargeInPolicy(resume_false_interruption=False))
    first = call.unplayed()[0]
    call.send(PlaybackProgress(call.tick(), first, 900.0, "Your balance is"))
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    message = call.state.history[-1]
    assert message.role is Role.ASSISTANT
    assert message.text == "Your balance is"
    assert message.interrupted is True
    assert call.transcript()[-1] == ("assistant", "Your balance is", True)


def test_history_estimates_heard_words_from_played_ms_when_text_is_unknown() -> None:
    call = speaking_call(BargeInPolicy(resume_false_interruption=False))
    first, second = call.unplayed()[:2]
    call.play([first], ms_each=2000.0)
    call.send(PlaybackProgress(call.tick(), second, 1000.0, None, 2000.0))
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    message = call.state.history[-1]
    # the first clause fully, then 16 of the 33 characters of "Your last payment was on
    # Monday. ", keeping only words that end within them
    assert message.text == "Your balance is one thousand dollars. Your last"
    assert message.interrupted


def test_heard_words_are_cut_at_word_boundaries() -> None:
    call = speaking_call(BargeInPolicy(resume_false_interruption=False))
    first = call.unplayed()[0]
    call.send(PlaybackProgress(call.tick(), first, 330.0, None, 2000.0))  # ~6 chars: "Your b"
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    assert call.state.history[-1].text == "Your"


# -- false interruption ------------------------------------------------------------------


def test_a_false_interruption_resumes_the_unplayed_rest() -> None:
    call = speaking_call()
    first = call.unplayed()[0]
    call.send(PlaybackProgress(call.tick(), first, 900.0, "Your balance is"))
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    call.send(UserSpeechStopped(call.tick(100)))
    step = call.fire("false_interruption", 2000)
    spoken = " ".join(c.text for c in step.commands if isinstance(c, Speak))
    assert spoken == "one thousand dollars. Your last payment was on Monday. Anything else?"
    call.play()
    assert call.state.history[-1].text == LONG
    assert call.state.history[-1].interrupted is False
    assistant_lines = [t for t in call.transcript() if t[0] == "assistant"]
    assert assistant_lines[-1] == ("assistant", LONG, False)


def test_a_final_with_words_makes_the_interruption_real() -> None:
    call = speaking_call()
    first = call.unplayed()[0]
    call.send(PlaybackProgress(call.tick(), first, 900.0, "Your balance is"))
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    call.send(UserSpeechStopped(call.tick(100)))
    step = call.send(FinalTranscript(call.tick(), "lock my card"))
    assert not any(isinstance(c, Speak) for c in step.commands)
    roles = [(m.role, m.text, m.interrupted) for m in call.state.history[-2:]]
    assert roles == [
        (Role.ASSISTANT, "Your balance is", True),
        (Role.USER, "lock my card", False),
    ]
    assert ("false_interruption", call.state.seq) not in call.state.timers


def test_resume_after_a_false_interruption_can_be_turned_off() -> None:
    call = speaking_call(BargeInPolicy(resume_false_interruption=False))
    call.send(UserSpeechStarted(call.tick()))
    step = call.fire("barge_in", 300)
    assert not any(
        isinstance(c, StartTimer) and c.name == "false_interruption" for c in step.commands
    )
    assert call.state.resume is None


def test_the_resume_waits_while_the_caller_is_still_speaking() -> None:
    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    step = call.fire("false_interruption", 2000)
    assert not any(isinstance(c, Speak) for c in step.commands)
    assert call.token("false_interruption")


# -- uninterruptible speech --------------------------------------------------------------


def test_uninterruptible_speech_is_never_cut_and_user_speech_is_handled_after() -> None:
    call = Call(bank_graph(greeting_interruptible=False))
    call.start()
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    call.send(PartialTranscript(call.tick(300), "I lost my card"))
    call.send(UserSpeechStopped(call.tick(200)))
    step = call.send(FinalTranscript(call.tick(), "I lost my card"))
    assert not any(isinstance(c, StopPlayback) for c in call.commands)
    assert call.state.user.deferred == "I lost my card"
    assert call.state.response is None
    assert step.noop_reason is None
    call.play()
    assert call.state.phase is Phase.THINKING
    assert call.last_start().messages[-1].text == "I lost my card"


def test_speech_ending_in_a_hang_up_is_never_cut() -> None:
    call = Call()
    call.greet()
    call.fire("no_input", 8000)
    call.play()
    call.fire("no_input", 8000)
    call.play()
    call.fire("no_input", 8000)  # goodbye
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 400)
    assert not any(isinstance(c, StopPlayback) for c in call.commands)


def test_barge_in_emits_the_interrupted_line_before_the_callers_line() -> None:
    call = speaking_call(BargeInPolicy(resume_false_interruption=False))
    first = call.unplayed()[0]
    call.send(PlaybackProgress(call.tick(), first, 500.0, "Your balance"))
    call.send(UserSpeechStarted(call.tick()))
    call.send(PartialTranscript(call.tick(350), "stop"))
    call.send(FinalTranscript(call.tick(), "stop please"))
    call.model_says("Okay.")
    lines = call.transcript()
    assert lines[-2:] == [("assistant", "Your balance", True), ("user", "stop please", False)]
    entries = [c.entry for c in call.of(EmitTranscript)]  # type: ignore[attr-defined]
    assert entries[-1].kind == "user"


def test_a_line_spoken_during_the_false_interruption_window_supersedes_the_resume() -> None:
    from domain.events import ProviderFailed
    from domain.policies import FailurePolicy

    call = Call(policy=ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=1)))
    call.greet()
    call.user_says("what is my balance")
    call.model_says(LONG)
    call.progress(call.unplayed()[0], 500, "Your balance")
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    call.send(UserSpeechStopped(call.tick(100)))
    assert call.state.resume is not None
    call.send(ProviderFailed(call.tick(), "speech_to_text", "unavailable"))  # escalates
    assert call.state.resume is None
    assert call.state.reply is not None and call.state.reply.then == "hang_up"
    assert (call.state.history[-1].text, call.state.history[-1].interrupted) == (
        "Your balance",
        True,
    )


def test_the_callers_own_turn_does_not_barge_into_the_reply_that_answers_it() -> None:
    # A fast pipeline answers before VAD has smoothed the end of the caller's speech: the
    # final transcript arrives while VAD still says "speaking". That speech began before the
    # reply existed, so neither playback progress nor the late speech stop may cut the reply.
    call = Call()
    call.greet()
    call.send(UserSpeechStarted(call.tick(200)))
    call.send(PartialTranscript(call.tick(400), "what"))
    call.send(FinalTranscript(call.tick(400), "what is my balance"))
    speaks = call.model_says(LONG)
    before = len(call.commands)
    call.progress(speaks[0].speech_id, 20.0)
    call.progress(speaks[0].speech_id, 40.0)
    call.send(UserSpeechStopped(call.tick(300)))
    assert not any(isinstance(c, StopPlayback) for c in call.commands[before:])
    assert call.state.phase is Phase.SPEAKING


def test_a_new_onset_during_the_reply_still_barges_in_after_a_carried_over_turn() -> None:
    call = Call()
    call.greet()
    call.send(UserSpeechStarted(call.tick(200)))
    call.send(FinalTranscript(call.tick(800), "what is my balance"))
    speaks = call.model_says(LONG)
    call.progress(speaks[0].speech_id, 20.0)
    call.send(UserSpeechStopped(call.tick(300)))
    call.send(UserSpeechStarted(call.tick(500)))
    step = call.fire("barge_in", 300)
    assert StopPlayback("barge_in") in step.commands


def test_speech_that_began_over_an_earlier_clause_of_the_reply_still_barges_in() -> None:
    call = speaking_call()
    speaks = call.of(Speak)[-3:]
    call.send(UserSpeechStarted(call.tick()))
    call.play([speaks[0].speech_id], ms_each=100)  # the first clause ends under the caller
    step = call.send(PartialTranscript(call.tick(300), "wait wait"))
    assert StopPlayback("barge_in") in step.commands


def test_the_false_interruption_window_counts_again_from_the_end_of_the_speech() -> None:
    # A batch recogniser (Whisper) gives the final only after the caller stops: a long
    # interruption must not be resumed over before its words could arrive.
    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    first = call.token("false_interruption")
    stop = call.send(UserSpeechStopped(call.tick(1800)))
    timer = next(c for c in stop.commands if isinstance(c, StartTimer))
    assert (timer.name, timer.delay_ms) == ("false_interruption", 2000)
    assert call.token("false_interruption") != first
    call.send(FinalTranscript(call.tick(700), "no wait, my savings account"))
    assert call.state.resume is None
    assert call.state.response is not None


def test_words_held_by_the_end_of_turn_model_make_the_interruption_real() -> None:
    from domain.events import EndOfTurnPredicted

    call = speaking_call()
    call.send(UserSpeechStarted(call.tick()))
    call.fire("barge_in", 300)
    stopped = call.tick(600)
    call.send(UserSpeechStopped(stopped))
    call.send(EndOfTurnPredicted(call.tick(80), 0.1, stopped))
    call.send(FinalTranscript(call.tick(300), "hold on I want to"))
    assert call.state.user.held == "hold on I want to"
    step = call.fire("false_interruption", 1700)
    assert not any(isinstance(c, Speak) for c in step.commands)  # not resumed over the words
    call.fire("endpointing", 100)
    assert call.state.resume is None
    assert call.state.history[-1].text == "hold on I want to"
