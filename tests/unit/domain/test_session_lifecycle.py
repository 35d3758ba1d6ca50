"""No input, DTMF, provider failures, call end, transcript, persistence and bad input
(issue 2 behaviours 6 and 9-13)."""

from __future__ import annotations

import json

import pytest

from domain.commands import (
    CancelResponse,
    CancelTimer,
    EmitTranscript,
    HangUp,
    SaveSession,
    Speak,
    StartResponse,
    StartTimer,
    StopPlayback,
    TransferCall,
)
from domain.conversation import SCHEMA_VERSION, Phase, SessionState, Then
from domain.events import (
    CallEnded,
    CallStarted,
    DtmfDigit,
    FinalTranscript,
    PartialTranscript,
    PlaybackCompleted,
    PlaybackProgress,
    ProviderFailed,
    ResponseCompleted,
    ResponseFailed,
    ResponseTextDelta,
    TimerFired,
    ToolCompleted,
    TransferResult,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import ConversationPolicy, DtmfPolicy, FailurePolicy, NoInputPolicy
from ports import ToolResult

from .harness import GREETING, Call

# -- 6. no input -------------------------------------------------------------------------


def test_no_input_after_the_agent_speaks_leads_to_a_reprompt() -> None:
    call = Call()
    call.greet()
    step = call.fire("no_input", 8000)
    assert [c.text for c in step.commands if isinstance(c, Speak)] == ["Are you still there?"]


def test_caller_speech_cancels_the_no_input_timer() -> None:
    call = Call()
    call.greet()
    token = call.token("no_input")
    step = call.send(UserSpeechStarted(call.tick()))
    assert CancelTimer("no_input") in step.commands
    stale = call.send(TimerFired(call.tick(8000), "no_input", token))
    assert stale.noop_reason == "stale or unknown timer"


def test_after_max_reprompts_the_agent_says_goodbye_and_hangs_up() -> None:
    call = Call(policy=ConversationPolicy(no_input=NoInputPolicy(max_reprompts=2)))
    call.greet()
    for _ in range(2):
        call.fire("no_input", 8000)
        call.play()
    step = call.fire("no_input", 8000)
    goodbye = [c for c in step.commands if isinstance(c, Speak)]
    assert [c.text for c in goodbye] == ["Goodbye."]
    assert goodbye[0].interruptible is False
    step = call.play()
    assert step is not None
    assert HangUp("no_input") in step.commands
    assert call.state.phase is Phase.ENDED
    assert call.state.status.end_reason == "no_input"


def test_a_caller_turn_resets_the_reprompt_count() -> None:
    call = Call()
    call.greet()
    call.fire("no_input", 8000)
    call.play()
    assert call.state.status.reprompts == 1
    call.user_says("hello")
    assert call.state.status.reprompts == 0


# -- 9. DTMF -----------------------------------------------------------------------------


def test_dtmf_digits_collect_and_hash_submits_them_as_a_user_turn() -> None:
    call = Call()
    call.greet()
    for digit in "1234":
        step = call.send(DtmfDigit(call.tick(), digit))
        assert step.noop_reason is None
    assert call.state.user.dtmf == "1234"
    step = call.send(DtmfDigit(call.tick(), "#"))
    assert any(isinstance(c, StartResponse) for c in step.commands)
    assert call.state.history[-1].text == "1234"
    assert call.state.user.dtmf == ""


def test_star_clears_the_collected_digits() -> None:
    call = Call()
    call.greet()
    call.send(DtmfDigit(call.tick(), "9"))
    call.send(DtmfDigit(call.tick(), "*"))
    assert call.state.user.dtmf == ""
    step = call.send(DtmfDigit(call.tick(), "#"))
    assert step.noop_reason == "no digits to submit"


def test_the_inter_digit_timeout_submits_the_digits() -> None:
    call = Call(policy=ConversationPolicy(dtmf=DtmfPolicy(inter_digit_timeout_ms=2500)))
    call.greet()
    step = call.send(DtmfDigit(call.tick(), "4"))
    assert StartTimer("dtmf", 2500, call.token("dtmf")) in step.commands
    call.send(DtmfDigit(call.tick(), "2"))
    step = call.fire("dtmf", 2500)
    assert any(isinstance(c, StartResponse) for c in step.commands)
    assert call.state.history[-1].text == "42"


def test_a_digit_during_interruptible_speech_barges_in() -> None:
    call = Call()
    call.start()
    step = call.send(DtmfDigit(call.tick(), "1"))
    assert StopPlayback("dtmf") in step.commands


def test_an_unknown_dtmf_key_changes_nothing() -> None:
    call = Call()
    call.greet()
    step = call.send(DtmfDigit(call.tick(), "x"))
    assert step.noop_reason == "unknown DTMF digit 'x'"
    assert step.state is call.state


# -- 10. provider failures ---------------------------------------------------------------


def failing_call(policy: ConversationPolicy | None = None) -> Call:
    call = Call(policy=policy)
    call.greet()
    call.user_says("balance")
    return call


def test_a_failed_response_speaks_the_fallback_line_and_returns_to_listening() -> None:
    call = failing_call()
    step = call.send(ResponseFailed(call.tick(), call.response_id(), "timeout"))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == [
        "Sorry, I had trouble with that."
    ]
    call.play()
    assert call.state.phase is Phase.LISTENING
    assert call.token("no_input")


def test_a_content_filtered_response_speaks_a_safe_line() -> None:
    call = failing_call()
    step = call.send(ResponseFailed(call.tick(), call.response_id(), "content_filtered"))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == [
        "Sorry, I can't help with that. Is there anything else I can do?"
    ]


def test_consecutive_failures_transfer_to_the_configured_target() -> None:
    policy = ConversationPolicy(
        failures=FailurePolicy(max_consecutive_failures=2, transfer_target="+15550199")
    )
    call = failing_call(policy)
    call.send(ResponseFailed(call.tick(), call.response_id(), "unavailable"))
    call.play()
    call.user_says("hello?")
    step = call.send(ResponseFailed(call.tick(), call.response_id(), "unavailable"))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == [
        "Please hold while I transfer your call."
    ]
    step = call.play()
    assert step is not None
    assert TransferCall("+15550199", "escalation") in step.commands


def test_consecutive_failures_without_a_target_hang_up_politely() -> None:
    call = failing_call(ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=1)))
    step = call.send(ResponseFailed(call.tick(), call.response_id(), "unavailable"))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == ["Goodbye."]
    step = call.play()
    assert step is not None
    assert HangUp("failures") in step.commands


def test_a_successful_response_resets_the_failure_count() -> None:
    call = failing_call(ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=2)))
    call.send(ResponseFailed(call.tick(), call.response_id(), "timeout"))
    call.play()
    call.user_says("again")
    call.model_says("Ten dollars.")
    assert call.state.status.failures == 0


def test_a_speech_synthesis_failure_stops_playback_and_counts() -> None:
    call = failing_call()
    call.model_says("Your balance is ten dollars. Anything else?")
    step = call.send(ProviderFailed(call.tick(), "text_to_speech", "unavailable"))
    assert StopPlayback("provider_failed") in step.commands
    assert call.state.status.failures == 1
    assert call.state.phase is Phase.LISTENING


# -- 11. call end ------------------------------------------------------------------------


def test_after_the_call_ends_only_save_session_is_issued() -> None:
    call = failing_call()
    rid = call.response_id()
    step = call.send(CallEnded(call.tick(), "remote_closed"))
    assert CancelResponse(rid) in step.commands
    assert step.commands[-1] == SaveSession()
    assert call.state.phase is Phase.ENDED
    for event in (
        ResponseTextDelta(call.tick(), rid, "late words. "),
        FinalTranscript(call.tick(), "hello?"),
        TimerFired(call.tick(), "no_input", 1),
        UserSpeechStarted(call.tick()),
        DtmfDigit(call.tick(), "1"),
    ):
        later = call.send(event)
        assert later.commands == ()
        assert later.noop_reason == "call already ended"
    assert call.send(CallEnded(call.tick())).commands == (SaveSession(),)


def test_a_call_ending_mid_speech_keeps_the_heard_words() -> None:
    call = failing_call()
    call.model_says("Your balance is ten dollars today.")
    call.send(PlaybackProgress(call.tick(), call.unplayed()[0], 500, "Your balance"))
    call.send(CallEnded(call.tick()))
    assert call.state.history[-1].text == "Your balance"
    assert call.state.history[-1].interrupted


# -- 12. transcript ----------------------------------------------------------------------


def test_every_finished_line_is_emitted_exactly_once_in_order() -> None:
    call = Call()
    call.greet()
    call.user_says("what is my balance")
    call.model_says("Ten dollars.")
    call.play()
    call.user_says("thanks")
    call.model_says("You are welcome.")
    call.play()
    call.send(CallEnded(call.tick()))
    assert call.transcript() == [
        ("assistant", GREETING, False),
        ("user", "what is my balance", False),
        ("assistant", "Ten dollars.", False),
        ("user", "thanks", False),
        ("assistant", "You are welcome.", False),
    ]
    entries = [c.entry for c in call.commands if isinstance(c, EmitTranscript)]
    times = [e.at_ms for e in entries]
    assert times == sorted(times)


def test_tool_results_are_transcribed_with_their_tool_name() -> None:
    from domain.events import ToolCallsRequested
    from ports import ToolCall

    call = failing_call()
    rid = call.response_id()
    call.send(ToolCallsRequested(call.tick(), rid, (ToolCall("c1", "check_balance"),)))
    call.send(ToolCompleted(call.tick(), rid, ToolResult("c1", "10")))
    tool = [c.entry for c in call.commands if isinstance(c, EmitTranscript)][-1]
    assert tool.kind == "tool"
    assert tool.data == {"name": "check_balance", "call_id": "c1", "is_error": False}


# -- 13. persistence ---------------------------------------------------------------------


def test_the_state_round_trips_through_json_with_a_schema_version() -> None:
    call = failing_call()
    call.model_says("Your balance is ten dollars. Anything", complete=False)
    call.send(PlaybackProgress(call.tick(), call.unplayed()[0], 300, "Your"))
    data = call.state.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    restored = SessionState.from_dict(json.loads(json.dumps(data)))
    assert restored == call.state
    # the restored state drives the call on exactly like the original
    event = ResponseCompleted(call.tick(), call.response_id())
    assert call.conversation.step(restored, event) == call.conversation.step(call.state, event)


def test_an_unknown_schema_version_is_refused() -> None:
    data = Call().state.to_dict()
    data["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version 99"):
        SessionState.from_dict(data)


def test_a_malformed_state_is_refused_with_a_clear_error() -> None:
    data = Call().state.to_dict()
    data["history"] = [{"role": "wizard"}]
    with pytest.raises(ValueError, match="malformed session state"):
        SessionState.from_dict(data)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_event", "reason"),
    [
        (lambda t: ResponseTextDelta(t, "r999", "hi"), "unknown or cancelled response"),
        (lambda t: ResponseCompleted(t, "r999"), "unknown or cancelled response"),
        (lambda t: ResponseFailed(t, "r999", "timeout"), "unknown or cancelled response"),
        (lambda t: ToolCompleted(t, "r999", ToolResult("x", "")), "unknown or cancelled response"),
        (lambda t: PlaybackProgress(t, "s999", 10.0), "no speech playing"),
        (lambda t: PlaybackCompleted(t, "s999"), "no speech playing"),
        (lambda t: TimerFired(t, "no_input", 424242), "stale or unknown timer"),
        (lambda t: UserSpeechStopped(t), "caller was not speaking"),
        (lambda t: CallStarted(t, "call-1"), "call already started"),
    ],
)
def test_events_that_do_not_fit_change_nothing_and_say_why(make_event, reason) -> None:  # type: ignore[no-untyped-def]
    call = Call()
    call.greet()
    before = call.state
    step = call.send(make_event(call.tick()))
    assert step.commands == ()
    assert step.noop_reason == reason
    assert step.state is before


def test_progress_for_an_old_speech_changes_nothing() -> None:
    call = failing_call()
    call.model_says("One. Two. Three.")
    first = call.unplayed()[0]
    call.play([first])
    step = call.send(PlaybackProgress(call.tick(), first, 500.0))
    assert step.noop_reason == "progress for an old or unknown speech"


def test_events_before_the_call_starts_change_nothing() -> None:
    call = Call()
    step = call.send(PartialTranscript(call.tick(), "hello"))
    assert step.noop_reason == "call not started"


def test_a_response_event_after_its_completion_changes_nothing() -> None:
    call = failing_call()
    rid = call.response_id()
    call.send(ResponseTextDelta(call.tick(), rid, "Hi there."))
    call.send(ResponseCompleted(call.tick(), rid))
    assert call.send(ResponseCompleted(call.tick(), rid)).noop_reason in {
        "unknown or cancelled response",
        "response already completed",
    }


# -- 10b. escalation without the failing provider (issue 12) ---------------------------------


def escalating_call(target: str | None) -> Call:
    policy = ConversationPolicy(
        failures=FailurePolicy(max_consecutive_failures=1, transfer_target=target)
    )
    call = failing_call(policy)
    call.send(ResponseFailed(call.tick(), call.response_id(), "unavailable"))
    return call


def test_a_transfer_line_that_cannot_be_spoken_transfers_at_once() -> None:
    call = escalating_call("+15550199")
    step = call.send(ProviderFailed(call.tick(), "text_to_speech", "authentication"))
    assert StopPlayback("provider_failed") in step.commands
    assert TransferCall("+15550199", "escalation") in step.commands
    assert not any(isinstance(c, Speak) for c in step.commands)
    assert call.state.status.transferring


def test_a_goodbye_that_cannot_be_spoken_hangs_up_at_once() -> None:
    call = escalating_call(None)
    step = call.send(ProviderFailed(call.tick(), "text_to_speech", "authentication"))
    assert HangUp("failures") in step.commands
    assert not any(isinstance(c, Speak) for c in step.commands)
    assert call.state.phase is Phase.ENDED


def test_a_speech_failure_at_the_limit_escalates_without_speaking() -> None:
    policy = ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=2))
    call = failing_call(policy)
    call.model_says("Your balance is ten dollars.")
    call.send(ProviderFailed(call.tick(), "text_to_speech", "unavailable"))
    step = call.send(ProviderFailed(call.tick(), "text_to_speech", "unavailable"))
    assert HangUp("failures") in step.commands
    assert not any(isinstance(c, Speak) for c in step.commands)


def test_failures_during_a_pending_escalation_do_not_queue_the_line_again() -> None:
    call = escalating_call("+15550199")
    for _ in range(5):
        step = call.send(ProviderFailed(call.tick(), "speech_to_text", "unavailable"))
        assert not any(isinstance(c, Speak) for c in step.commands)
    assert [c.text for c in call.of(Speak)].count(  # type: ignore[attr-defined]
        "Please hold while I transfer your call."
    ) == 1


def test_a_failed_escalation_transfer_says_goodbye_and_hangs_up() -> None:
    call = escalating_call("+15550199")
    call.play()
    assert call.state.status.transferring
    step = call.send(TransferResult(call.tick(), accepted=False))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == ["Goodbye."]
    step = call.play()
    assert step is not None
    assert HangUp("failures") in step.commands


def test_recorded_errors_stay_bounded() -> None:
    call = failing_call(ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=99)))
    for _ in range(100):
        call.send(ProviderFailed(call.tick(), "speech_to_text", "unavailable"))
    assert len(call.state.status.errors) == 32


def test_a_state_stored_before_the_then_enum_loads() -> None:
    call = failing_call()
    data = json.loads(json.dumps(call.state.to_dict()))
    assert data["response"]["then"] == "listen"
    data["response"]["then"] = ""  # how "no action" was stored while ``then`` was a string
    restored = SessionState.from_dict(data)
    assert restored == call.state
    assert restored.response is not None and restored.response.then is Then.LISTEN
