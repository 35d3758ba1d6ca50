"""Phases, greeting, end of turn and streaming speech (issue 2 behaviours 1-4)."""

from __future__ import annotations

from domain.commands import (
    CancelResponse,
    EmitTranscript,
    Speak,
    StartResponse,
    StartTimer,
)
from domain.conversation import Phase
from domain.events import (
    FinalTranscript,
    ResponseCompleted,
    ResponseTextDelta,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import ConversationPolicy, EndpointingPolicy
from ports import Role

from .harness import GREETING, Call, bank_graph

# -- 1. phases ---------------------------------------------------------------------------


def test_a_call_moves_through_listening_user_speaking_thinking_speaking_and_back() -> None:
    call = Call()
    call.greet()
    assert call.state.phase is Phase.LISTENING
    call.send(UserSpeechStarted(call.tick(100)))
    assert call.state.phase is Phase.USER_SPEAKING
    call.send(UserSpeechStopped(call.tick(500)))
    assert call.state.phase is Phase.LISTENING
    call.send(FinalTranscript(call.tick(100), "what is my balance"))
    assert call.state.phase is Phase.THINKING
    call.model_says("Your balance is ten dollars.")
    assert call.state.phase is Phase.SPEAKING
    call.play()
    assert call.state.phase is Phase.LISTENING


def test_at_most_one_response_is_in_flight_when_the_caller_takes_another_turn() -> None:
    call = Call(policy=ConversationPolicy(endpointing=EndpointingPolicy(end_of_turn_grace_ms=0)))
    call.greet()
    call.user_says("what is my balance")
    first = call.response_id()
    step = call.user_says("and my last payment")
    kinds = [type(c) for c in step.commands]
    assert CancelResponse(first) in step.commands
    assert kinds.index(CancelResponse) < kinds.index(StartResponse)
    assert call.response_id() != first


# -- 2. greeting -------------------------------------------------------------------------


def test_the_start_agents_greeting_is_spoken_when_the_call_starts() -> None:
    call = Call()
    step = call.start()
    speaks = [c for c in step.commands if isinstance(c, Speak)]
    assert [s.text for s in speaks] == [GREETING]
    assert speaks[0].interruptible is True
    assert call.state.phase is Phase.SPEAKING


def test_an_agent_can_make_its_greeting_uninterruptible() -> None:
    call = Call(bank_graph(greeting_interruptible=False))
    step = call.start()
    speak = next(c for c in step.commands if isinstance(c, Speak))
    assert speak.interruptible is False


def test_the_greeting_is_stored_and_transcribed_once_played() -> None:
    call = Call()
    call.greet()
    assert call.state.history[0].role is Role.ASSISTANT
    assert call.state.history[0].text == GREETING
    assert call.transcript() == [("assistant", GREETING, False)]


def test_after_the_greeting_the_no_input_timer_starts() -> None:
    call = Call()
    call.start()
    step = call.play()
    assert step is not None
    assert any(isinstance(c, StartTimer) and c.name == "no_input" for c in step.commands)


# -- 3. end of turn ----------------------------------------------------------------------


def test_a_final_transcript_ends_the_user_turn_and_starts_the_response() -> None:
    call = Call()
    call.greet()
    call.user_says("what is my balance")
    start = call.last_start()
    assert start.agent == "concierge"
    assert start.messages[0].role is Role.SYSTEM
    assert start.messages[0].text == "You are a bank concierge."
    assert [m.text for m in start.messages[1:]] == [GREETING, "what is my balance"]
    assert start.tool_names == ("check_balance", "lock_card")
    assert start.options.agent == "concierge"


def test_empty_or_whitespace_finals_are_ignored() -> None:
    call = Call()
    call.greet()
    for text in ("", "   ", "\n\t"):
        step = call.send(FinalTranscript(call.tick(), text))
        assert step.commands == ()
        assert step.noop_reason == "empty transcript"


def test_finals_within_the_grace_window_merge_into_one_turn() -> None:
    call = Call(policy=ConversationPolicy(endpointing=EndpointingPolicy(end_of_turn_grace_ms=500)))
    call.greet()
    call.send(FinalTranscript(call.tick(100), "I want to check"))
    first = call.response_id()
    step = call.send(FinalTranscript(call.tick(300), "my balance please"))
    assert CancelResponse(first) in step.commands
    start = call.last_start()
    assert start.messages[-1].text == "I want to check my balance please"
    assert [m.text for m in call.state.history if m.role is Role.USER] == [
        "I want to check my balance please"
    ]
    call.fire("end_of_turn", 500)
    assert call.transcript()[-1] == ("user", "I want to check my balance please", False)


def test_a_final_after_the_grace_window_is_a_new_turn() -> None:
    call = Call(policy=ConversationPolicy(endpointing=EndpointingPolicy(end_of_turn_grace_ms=500)))
    call.greet()
    call.send(FinalTranscript(call.tick(100), "check my balance"))
    call.fire("end_of_turn", 500)
    call.send(FinalTranscript(call.tick(100), "actually lock my card"))
    users = [m.text for m in call.state.history if m.role is Role.USER]
    assert users == ["check my balance", "actually lock my card"]


def test_the_user_line_is_emitted_once_the_response_starts_speaking() -> None:
    call = Call()
    call.greet()
    call.user_says("what is my balance")
    assert call.transcript()[-1][0] == "assistant"  # not sealed yet: still mergeable
    call.model_says("Ten dollars.", complete=False)
    call.send(ResponseTextDelta(call.tick(), call.response_id(), " More"))
    assert call.transcript()[-1] == ("user", "what is my balance", False)


# -- 4. streaming speech -----------------------------------------------------------------


def test_each_clause_is_spoken_as_soon_as_it_is_complete() -> None:
    call = Call()
    call.greet()
    call.user_says("balance")
    rid = call.response_id()
    step = call.send(ResponseTextDelta(call.tick(), rid, "Sure. Your bal"))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == ["Sure."]
    step = call.send(ResponseTextDelta(call.tick(), rid, "ance is $1,234.56 today"))
    assert not any(isinstance(c, Speak) for c in step.commands)
    step = call.send(ResponseCompleted(call.tick(), rid))
    speaks = [c for c in step.commands if isinstance(c, Speak)]
    assert [c.text for c in speaks] == ["Your balance is $1,234.56 today"]
    assert speaks[0].response_id == rid


def test_speech_ids_are_unique_within_a_call() -> None:
    call = Call()
    call.greet()
    for _ in range(3):
        call.user_says("tell me something")
        call.model_says("One. Two, three and four. Five!")
        call.play()
    ids = [c.speech_id for c in call.of(Speak)]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) >= 10


def test_the_assistant_message_holds_the_whole_reply_once_played() -> None:
    call = Call()
    call.greet()
    call.user_says("balance")
    call.model_says("Sure. Your balance is $1,234.56 today.")
    call.play()
    assert call.state.history[-1].role is Role.ASSISTANT
    assert call.state.history[-1].text == "Sure. Your balance is $1,234.56 today."
    entries = [c.entry for c in call.of(EmitTranscript)]  # type: ignore[attr-defined]
    assert entries[-1].text == "Sure. Your balance is $1,234.56 today."


def test_merging_a_turn_drops_text_the_cancelled_response_had_buffered() -> None:
    call = Call(policy=ConversationPolicy(endpointing=EndpointingPolicy(end_of_turn_grace_ms=500)))
    call.greet()
    call.send(FinalTranscript(call.tick(100), "I want to check"))
    call.send(ResponseTextDelta(call.tick(), call.response_id(), "Sure thing"))
    call.send(FinalTranscript(call.tick(200), "my balance"))
    call.model_says("Ten dollars.")
    call.play()
    assert call.state.history[-1].text == "Ten dollars."


def test_playback_progress_only_moves_the_playing_position() -> None:
    from dataclasses import replace

    from domain.events import PlaybackProgress

    call = Call()
    call.start()
    before = call.state
    assert before.reply is not None
    speech_id = before.reply.clauses[0].speech_id
    step = call.send(PlaybackProgress(call.tick(), speech_id, 240.0, "Hello,", 3000.0))
    expected = replace(
        before,
        reply=replace(
            before.reply, playing_ms=240.0, playing_text="Hello,", playing_total_ms=3000.0
        ),
    )
    assert step.state == expected
    assert step.commands == ()
