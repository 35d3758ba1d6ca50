"""Outbound calls: the callee is screened, a person greeted, a machine left a voicemail."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.commands import DetectBeep, EmitTranscript, HangUp, Speak, StartResponse
from domain.conversation import Phase
from domain.events import (
    BeepDetected,
    CallEnded,
    CallStarted,
    DtmfDigit,
    FinalTranscript,
    PartialTranscript,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.outbound import AnsweredBy, OutboundPolicy
from domain.policies import ConversationPolicy

from .harness import GREETING, Call, bank_graph

MESSAGE = "Hi, this is Parley Bank about your card. Please call us back. Goodbye."


def outbound_call(**policy: object) -> Call:
    call = Call(
        bank_graph(voicemail_message=MESSAGE),
        ConversationPolicy(outbound=OutboundPolicy(**policy)),  # type: ignore[arg-type]
    )
    call.send(CallStarted(call.tick(0), "call-1", "+14255550123", outbound=True))
    return call


def answered_by(call: Call) -> list[str]:
    return [
        str(c.entry.data["answered_by"])
        for c in call.commands
        if isinstance(c, EmitTranscript) and c.entry.data.get("event") == "answered_by"
    ]


def spoken(call: Call) -> list[str]:
    return [c.text for c in call.of(Speak)]  # type: ignore[attr-defined]


# -- the policy -----------------------------------------------------------------------------


def test_a_short_hello_is_a_person_and_a_voicemail_greeting_is_a_machine() -> None:
    policy = OutboundPolicy()
    assert policy.classify(700, "Hello?") is AnsweredBy.HUMAN
    assert policy.classify(1500, "Hi, this is Ana speaking") is AnsweredBy.HUMAN
    assert policy.classify(1800, "Please leave a message after the tone") is AnsweredBy.MACHINE
    assert policy.classify(900, "You have reached the voicemail of") is AnsweredBy.MACHINE
    assert policy.classify(4000, "hi") is AnsweredBy.MACHINE  # long speech, few words heard
    many = "we are away right now but we will get back to you soon"
    assert policy.classify(2000, many) is AnsweredBy.MACHINE


@given(st.text(max_size=60), st.floats(min_value=0, max_value=60_000))
def test_classify_always_decides(text: str, speech_ms: float) -> None:
    assert OutboundPolicy().classify(speech_ms, text) in (AnsweredBy.HUMAN, AnsweredBy.MACHINE)


# -- the conversation -----------------------------------------------------------------------


def test_an_outbound_call_says_nothing_until_the_callee_speaks() -> None:
    call = outbound_call()
    assert spoken(call) == []
    assert call.state.status.answered_by == "screening"
    assert "screening" in dict(call.state.timers)


def test_a_person_saying_hello_is_greeted_and_hello_is_not_a_turn() -> None:
    call = outbound_call(after_greeting_silence_ms=800)
    call.user_says("hello", speech_ms=600)
    assert answered_by(call) == [] and spoken(call) == []  # a greeting may pause, then go on
    call.fire("screening", 800)
    assert answered_by(call) == ["human"]
    assert spoken(call) == [GREETING]
    assert call.of(StartResponse) == []
    call.play()
    call.user_says("what is my balance")
    starts = call.of(StartResponse)
    assert starts, "after the greeting the callee's words are turns again"
    assert starts[0].messages[-1].text == "what is my balance"  # type: ignore[attr-defined]


def test_a_greeting_that_pauses_between_sentences_is_one_utterance() -> None:
    # The VAD reports a stop and the recogniser a final at each sentence break of the
    # greeting (Silero VAD with a 250 ms stop, Whisper); the first sentence alone sounds
    # like a person answering.
    call = outbound_call(after_greeting_silence_ms=800)
    call.user_says("Hi, you have reached Ana.", speech_ms=1000)
    assert answered_by(call) == []
    call.send(UserSpeechStarted(call.tick(200)))
    call.send(UserSpeechStopped(call.tick(600)))  # 1900 ms from the first onset: not long
    call.send(FinalTranscript(call.tick(100), "Please leave a message."))
    assert answered_by(call) == ["machine"] and spoken(call) == []
    heard = [c.entry.data["heard"] for c in call.of(EmitTranscript)]  # type: ignore[attr-defined]
    assert heard == ["Hi, you have reached Ana. Please leave a message."]
    assert call.of(DetectBeep) == [DetectBeep(True)]


def test_speech_going_on_past_a_persons_greeting_is_a_machine_before_it_stops() -> None:
    # Whisper gives no partials: the length of the speech decides before any words come.
    call = outbound_call(human_max_greeting_ms=2500)
    call.send(UserSpeechStarted(call.tick(100)))
    call.send(UserSpeechStopped(call.tick(1500)))
    call.send(UserSpeechStarted(call.tick(400)))  # after the sentence break
    assert answered_by(call) == []
    call.fire("screening", 600)  # 2500 ms since the first onset
    assert answered_by(call) == ["machine"] and call.state.status.voicemail == "greeting"


def test_words_that_come_after_the_pause_ended_decide_at_once() -> None:
    call = outbound_call(after_greeting_silence_ms=800)
    call.send(UserSpeechStarted(call.tick(100)))
    call.send(UserSpeechStopped(call.tick(600)))
    call.fire("screening", 800)  # the utterance ended; its final is still being decoded
    assert answered_by(call) == []
    call.send(FinalTranscript(call.tick(300), "Hello?"))
    assert answered_by(call) == ["human"] and spoken(call) == [GREETING]


def test_short_speech_whose_words_never_come_is_a_person() -> None:
    call = outbound_call(after_greeting_silence_ms=800)
    call.send(UserSpeechStarted(call.tick(100)))
    call.send(UserSpeechStopped(call.tick(600)))
    call.fire("screening", 800)
    call.fire("screening", 700)  # 1500 ms after the stop
    assert answered_by(call) == ["human"] and spoken(call) == [GREETING]


def test_silence_after_connecting_is_a_person_waiting_for_us() -> None:
    call = outbound_call(first_speech_timeout_ms=3000)
    call.fire("screening", 3000)
    assert answered_by(call) == ["human"] and spoken(call) == [GREETING]


def test_a_voicemail_greeting_then_the_beep_gets_the_message_and_a_hang_up() -> None:
    call = outbound_call()
    call.send(UserSpeechStarted(call.tick(200)))
    call.send(PartialTranscript(call.tick(900), "hi you have reached ana please leave a message"))
    assert answered_by(call) == ["machine"]
    assert call.of(DetectBeep) == [DetectBeep(True)]
    call.send(FinalTranscript(call.tick(800), "please leave a message after the tone"))
    assert call.of(StartResponse) == [] and spoken(call) == []
    call.send(UserSpeechStopped(call.tick(300)))
    call.send(BeepDetected(call.tick(600)))
    assert spoken(call) == [MESSAGE]
    assert DetectBeep(False) in call.of(DetectBeep)
    speak = call.of(Speak)[0]
    assert not speak.interruptible  # type: ignore[attr-defined]
    call.send(UserSpeechStarted(call.tick(100)))  # the machine records; it never barges in
    call.play()
    assert call.of(HangUp) == [HangUp("voicemail")]
    assert call.state.status.end_reason == "voicemail"


def test_without_a_beep_the_message_starts_after_the_beep_timeout() -> None:
    call = outbound_call(beep_timeout_ms=2500)
    call.user_says("sorry I cannot take your call right now please leave your message", 3000)
    assert call.state.status.voicemail == "beep"
    call.fire("beep", 2500)
    assert spoken(call) == [MESSAGE]


def test_a_long_greeting_without_words_is_a_machine_when_it_stops() -> None:
    call = outbound_call(human_max_greeting_ms=2000)
    call.send(UserSpeechStarted(call.tick(100)))
    call.send(UserSpeechStopped(call.tick(3000)))
    assert answered_by(call) == ["machine"]


def test_a_machine_without_a_message_configured_is_hung_up_on() -> None:
    call = Call(bank_graph(), ConversationPolicy())
    call.send(CallStarted(call.tick(0), "call-1", outbound=True))
    call.user_says("leave a message after the beep", 2000)
    call.send(BeepDetected(call.tick(400)))
    assert spoken(call) == [] and call.of(HangUp) == [HangUp("voicemail")]


def test_keys_and_late_events_during_screening_change_nothing() -> None:
    call = outbound_call()
    before = call.state
    step = call.send(DtmfDigit(call.tick(), "5"))
    assert step.noop_reason and call.state == before
    assert call.send(BeepDetected(call.tick())).noop_reason  # no greeting to end yet


def test_detection_off_greets_at_once_and_inbound_calls_are_not_screened() -> None:
    call = outbound_call(detect_voicemail=False)
    assert spoken(call) == [GREETING] and call.state.status.answered_by == "human"
    inbound = Call()
    inbound.start()
    assert inbound.state.status.answered_by == "" and spoken(inbound) == [GREETING]


def test_a_screened_call_that_ends_ends_cleanly() -> None:
    call = outbound_call()
    call.send(CallEnded(call.tick(), "remote_closed"))
    assert call.state.phase is Phase.ENDED
