"""A final that arrives before its pause's end-of-turn judgement waits for it (bounded).

Normally the judgement comes 60-100 ms after the pause and the final 200-300 ms after it. On a
loaded machine the judgement can come last; the final used to be taken at once then, so a
fragment Whisper wrote at a pause ("Bye.", Whisper's mishearing of "Hi") was taken as the turn
and the offline dialog model hung up.
"""

from __future__ import annotations

from domain.commands import StartResponse, StartTimer
from domain.commands import TimerName as Timer
from domain.events import EndOfTurnPredicted, FinalTranscript, UserSpeechStarted, UserSpeechStopped
from domain.policies import ConversationPolicy, EndpointingPolicy
from ports import Role

from .harness import Call

POLICY = ConversationPolicy(
    endpointing=EndpointingPolicy(end_of_turn_grace_ms=0, judgement_wait_ms=500)
)


def pause(call: Call, *, judged: bool = True) -> float:
    """The caller speaks and pauses; ``judged``: the runtime asked its model about it."""
    call.send(UserSpeechStarted(call.tick(200)))
    stopped = call.tick(600)
    call.send(UserSpeechStopped(stopped, judged))
    return stopped


def user_messages(call: Call) -> list[str]:
    return [m.text for m in call.state.history if m.role is Role.USER]


def endpointing_delays(commands: object) -> list[float]:
    return [
        c.delay_ms
        for c in commands  # type: ignore[attr-defined]
        if isinstance(c, StartTimer) and c.name == Timer.ENDPOINTING
    ]


def test_a_fragment_whose_judgement_comes_late_is_held_and_joins_the_rest_of_the_turn() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = pause(call)
    step = call.send(FinalTranscript(call.tick(300), "Bye."))
    assert call.state.response is None
    assert call.state.user.held == "Bye."
    assert endpointing_delays(step.commands) == [500]  # the wait for the judgement
    call.send(EndOfTurnPredicted(call.tick(150), 0.04, stopped))  # late, and incomplete
    assert call.state.response is None
    # The caller goes on: one turn.
    stopped = pause(call)
    call.send(EndOfTurnPredicted(call.tick(80), 0.9, stopped))
    call.send(FinalTranscript(call.tick(200), "I'd like to buy a Chromecast"))
    assert user_messages(call) == ["Bye. I'd like to buy a Chromecast"]
    assert len(call.of(StartResponse)) == 1


def test_a_final_whose_late_judgement_says_complete_is_taken_when_it_comes() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = pause(call)
    call.send(FinalTranscript(call.tick(300), "what is my balance"))
    assert call.state.response is None
    call.send(EndOfTurnPredicted(call.tick(120), 0.93, stopped))
    assert user_messages(call) == ["what is my balance"]
    assert call.state.response is not None


def test_a_judgement_that_never_comes_costs_at_most_the_judgement_wait() -> None:
    call = Call(policy=POLICY)
    call.greet()
    pause(call)
    call.send(FinalTranscript(call.tick(300), "what is my balance"))
    assert call.state.response is None
    call.fire(Timer.ENDPOINTING, after_ms=500)
    assert user_messages(call) == ["what is my balance"]


def test_a_judgement_the_model_could_not_make_takes_the_held_final_at_once() -> None:
    call = Call(policy=POLICY)
    call.greet()
    stopped = pause(call)
    call.send(FinalTranscript(call.tick(300), "lock my card"))
    call.send(EndOfTurnPredicted(call.tick(50), None, stopped))  # failed or timed out
    assert user_messages(call) == ["lock my card"]


def test_a_pause_no_model_judges_takes_its_final_at_once() -> None:
    call = Call(policy=POLICY)
    call.greet()
    pause(call, judged=False)
    call.send(FinalTranscript(call.tick(300), "what is my balance"))
    assert user_messages(call) == ["what is my balance"]
