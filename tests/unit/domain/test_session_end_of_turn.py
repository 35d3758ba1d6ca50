"""End of turn with an end-of-turn model (issue 15): complete pauses answer at once,
incomplete ones wait for the caller to go on, up to the maximum endpointing delay."""

from __future__ import annotations

from domain.commands import CancelTimer, StartResponse, StartTimer
from domain.commands import TimerName as Timer
from domain.events import (
    EndOfTurnPredicted,
    FinalTranscript,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import ConversationPolicy, EndpointingPolicy
from ports import Role

from .harness import Call

POLICY = ConversationPolicy(
    endpointing=EndpointingPolicy(
        end_of_turn_grace_ms=0, unlikely_threshold=0.5, max_endpointing_delay_ms=1500
    )
)


def speak(call: Call, speech_ms: float = 600.0) -> float:
    """The caller speaks and pauses; returns the pause's VAD end-of-speech time."""
    call.send(UserSpeechStarted(call.tick(200)))
    stopped = call.tick(speech_ms)
    call.send(UserSpeechStopped(stopped))
    return stopped


def judged(call: Call, probability: float, stopped: float, after_ms: float = 80.0) -> None:
    call.send(EndOfTurnPredicted(call.tick(after_ms), probability, stopped))


def user_messages(call: Call) -> list[str]:
    return [m.text for m in call.state.history if m.role is Role.USER]


def test_a_pause_judged_complete_answers_the_final_at_once() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    judged(call, 0.93, stopped)
    call.send(FinalTranscript(call.tick(300), "what is my balance"))
    assert call.state.response is not None
    assert user_messages(call) == ["what is my balance"]


def test_a_pause_judged_incomplete_holds_the_final_until_the_caller_goes_on() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    judged(call, 0.12, stopped)
    step = call.send(FinalTranscript(call.tick(300), "I would like to"))
    assert call.state.response is None
    assert call.state.user.held == "I would like to"
    timer = next(c for c in step.commands if isinstance(c, StartTimer))
    assert timer.name == Timer.ENDPOINTING
    assert timer.delay_ms == 1500 - (call.now - stopped)  # what is left of the delay
    # The caller goes on: the held words and the next final make one turn.
    stopped = speak(call)
    assert CancelTimer(Timer.ENDPOINTING) in call.commands
    judged(call, 0.97, stopped)
    call.send(FinalTranscript(call.tick(300), "check my balance"))
    assert user_messages(call) == ["I would like to check my balance"]
    assert call.state.user.held == ""
    assert len(call.of(StartResponse)) == 1


def test_a_held_final_is_taken_when_the_endpointing_delay_runs_out() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    judged(call, 0.2, stopped)
    call.send(FinalTranscript(call.tick(300), "lock my card"))
    assert call.state.response is None
    call.fire(Timer.ENDPOINTING, after_ms=1120)
    assert call.state.response is not None
    assert user_messages(call) == ["lock my card"]


def test_a_judgement_that_arrives_after_the_final_releases_or_keeps_the_held_text() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    judged(call, 0.1, stopped)
    call.send(FinalTranscript(call.tick(300), "my card ends in"))
    stopped = speak(call)
    # The next final comes before its pause is judged: it joins the held text and waits.
    call.send(FinalTranscript(call.tick(300), "1234"))
    assert call.state.response is None
    assert call.state.user.held == "my card ends in 1234"
    judged(call, 0.9, stopped, after_ms=20)
    assert user_messages(call) == ["my card ends in 1234"]


def test_without_a_model_a_final_is_taken_at_once_even_while_the_caller_speaks_again() -> None:
    call = Call(policy=POLICY)
    call.greet()
    speak(call)
    call.send(UserSpeechStarted(call.tick(200)))
    call.send(FinalTranscript(call.tick(300), "what is my balance"))
    assert call.state.response is not None
    assert call.state.user.held == ""


def test_a_held_final_keeps_the_no_input_timer_from_reprompting() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    judged(call, 0.2, stopped)
    call.send(FinalTranscript(call.tick(300), "I want to"))
    assert all(name != Timer.NO_INPUT for name, _ in call.state.timers)


def test_a_stale_judgement_while_the_caller_speaks_again_is_ignored() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = speak(call)
    call.send(UserSpeechStarted(call.tick(100)))
    step = call.send(EndOfTurnPredicted(call.tick(50), 0.1, stopped))
    assert step.noop_reason == "the caller is speaking again"


def test_the_policy_holds_only_below_the_threshold_and_never_past_the_delay() -> None:
    policy = EndpointingPolicy(unlikely_threshold=0.5, max_endpointing_delay_ms=1500)
    assert policy.hold_ms(None, 100) == 0
    assert policy.hold_ms(0.5, 100) == 0
    assert policy.hold_ms(0.49, 100) == 1400
    assert policy.hold_ms(0.1, 2000) == 0
    assert EndpointingPolicy(max_endpointing_delay_ms=0).hold_ms(0.0, 0) == 0


# -- the final's punctuation (the recogniser's opinion beside the model's) ----------------

TIERED = ConversationPolicy(endpointing=EndpointingPolicy(end_of_turn_grace_ms=0))
TRUSTED_FULL_STOPS = ConversationPolicy(
    endpointing=EndpointingPolicy(end_of_turn_grace_ms=0, sentence_endpointing_delay_ms=600)
)


def endpointing_delay(step_commands: list[object]) -> float:
    timer = next(c for c in step_commands if isinstance(c, StartTimer))
    assert timer.name == Timer.ENDPOINTING
    return timer.delay_ms


def test_a_question_judged_incomplete_is_answered_at_once() -> None:
    call = Call(policy=TIERED)
    call.greet()
    stopped = speak(call)
    judged(call, 0.02, stopped)  # Smart Turn v3's score for "What's the weather like?"
    call.send(FinalTranscript(call.tick(300), "What's the weather like?"))
    assert call.state.response is not None
    assert user_messages(call) == ["What's the weather like?"]


def test_a_sentence_judged_incomplete_waits_the_short_delay_and_joins_what_follows() -> None:
    call = Call(policy=TRUSTED_FULL_STOPS)
    call.greet()
    stopped = speak(call)
    judged(call, 0.03, stopped)
    step = call.send(FinalTranscript(call.tick(300), "ask not what your country can do for you."))
    assert call.state.response is None
    assert endpointing_delay(step.commands) == 600 - (call.now - stopped)
    # The speaker goes on within the wait (jfk.wav: 500 ms after the VAD's end of speech).
    call.send(UserSpeechStarted(call.tick(100)))
    stopped = call.tick(2000)
    call.send(UserSpeechStopped(stopped))
    judged(call, 0.97, stopped)
    call.send(FinalTranscript(call.tick(300), "ask what you can do for your country"))
    assert user_messages(call) == [
        "ask not what your country can do for you. ask what you can do for your country"
    ]


def test_a_sentence_judged_incomplete_is_taken_when_the_short_delay_runs_out() -> None:
    call = Call(policy=TRUSTED_FULL_STOPS)
    call.greet()
    stopped = speak(call)
    judged(call, 0.04, stopped)
    call.send(FinalTranscript(call.tick(300), "I'd like to buy a Chromecast."))
    call.fire(Timer.ENDPOINTING, after_ms=600 - (call.now - stopped))
    assert user_messages(call) == ["I'd like to buy a Chromecast."]


def test_speech_cut_mid_sentence_is_not_taken_before_the_maximum_delay() -> None:
    call = Call(policy=TIERED)
    call.greet()
    stopped = speak(call)
    judged(call, 0.05, stopped)  # jfk.wav cut at 60 %: Smart Turn 0.02-0.05
    step = call.send(FinalTranscript(call.tick(300), "And so my fellow Americans ask not"))
    assert endpointing_delay(step.commands) == 1500 - (call.now - stopped)
    assert call.state.response is None
    # By default Whisper's full stop on a fragment proves nothing ("Thank you. Not!" came
    # in the middle of jfk.wav, 1 s before "what your country can do for you").
    call = Call(policy=TIERED)
    call.greet()
    stopped = speak(call)
    judged(call, 0.01, stopped)
    step = call.send(FinalTranscript(call.tick(300), "Thank you. Not!"))
    assert endpointing_delay(step.commands) == 1500 - (call.now - stopped)
    call.send(UserSpeechStarted(call.tick(1000)))
    assert call.state.response is None
    # A figure read in chunks waits as long, even where full stops are trusted.
    call = Call(policy=TRUSTED_FULL_STOPS)
    call.greet()
    stopped = speak(call)
    judged(call, 0.3, stopped)
    step = call.send(FinalTranscript(call.tick(300), "my card ends in 0401."))
    assert endpointing_delay(step.commands) == 1500 - (call.now - stopped)


def test_a_question_that_arrives_before_its_judgement_is_answered_when_it_comes() -> None:
    call = Call(policy=TIERED)
    call.greet()
    stopped = speak(call)
    judged(call, 0.1, stopped)
    call.send(FinalTranscript(call.tick(300), "I want to"))
    stopped = speak(call)
    call.send(FinalTranscript(call.tick(300), "know my balance?"))
    assert call.state.response is None  # held with text: waits for the pause's judgement
    judged(call, 0.1, stopped, after_ms=20)
    assert user_messages(call) == ["I want to know my balance?"]
