"""Property test: whatever the caller does, endpointing never ends a turn early or loses words.

A hypothesis rule-based machine plays a caller who speaks, pauses, gets judged by an
end-of-turn model (any probability, before or after the final), gets finals that end with a
question mark, a full stop, an ellipsis, a figure or nothing, and is silent for a while (the
ENDPOINTING timer fires when due). After every step it checks that:

* a turn taken while its pause is judged incomplete has had at least the policy's wait for
  how its text ends (question, sentence, or the maximum) of silence since the pause;
* a final that arrives before the judgement the runtime asked for is not taken before the
  judgement comes or ``judgement_wait_ms`` has passed since the final;
* every final's words are in the user turns or held, in order, exactly once.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.commands import CancelTimer, StartTimer
from domain.commands import TimerName as Timer
from domain.events import (
    EndOfTurnPredicted,
    Event,
    FinalTranscript,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import ConversationPolicy, EndpointingPolicy
from ports import Role

from .harness import Call

# Full stops trusted (600 ms), so all three waits occur.
ENDPOINTING = EndpointingPolicy(end_of_turn_grace_ms=0, sentence_endpointing_delay_ms=600)
FINALS = [
    "I want to",
    "ask not",
    "What's the weather like?",
    "help me with that.",
    "my card ends in 0401.",
    "Thank you!",
    "and...",
]


class CallerEndpointing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.call = Call(policy=ConversationPolicy(endpointing=ENDPOINTING))
        self.call.greet()
        self.speaking = False
        self.pause_ms: float | None = None  # the latest pause's VAD end of speech
        self.judged = True
        self.final_due = False
        self.finals: list[str] = []
        self.timer_due: float | None = None
        self.early: list[str] = []
        self.asked = False  # the runtime asked its model about the latest pause
        self.waiting_since: float | None = None  # a final came before the asked judgement

    def send(self, event: Event) -> None:
        before = self.call.state.user
        turns = len(self.user_turns())
        step = self.call.send(event)
        for command in step.commands:
            if isinstance(command, StartTimer) and command.name == Timer.ENDPOINTING:
                self.timer_due = self.call.now + command.delay_ms
            elif isinstance(command, CancelTimer) and command.name == Timer.ENDPOINTING:
                self.timer_due = None
        probability = before.turn_probability
        if isinstance(event, EndOfTurnPredicted) and event.speech_stopped_ms >= before.paused_ms:
            probability = event.probability
        taken = self.user_turns()[turns:]
        since = self.waiting_since
        if (
            taken
            and since is not None
            and not isinstance(event, EndOfTurnPredicted)
            and self.call.now - since < ENDPOINTING.judgement_wait_ms - 1e-6
        ):
            self.early.append(f"{taken[-1]!r} {self.call.now - since:.0f} ms before judgement")
        if taken and probability is not None and probability < ENDPOINTING.unlikely_threshold:
            silence = self.call.now - self.call.state.user.paused_ms
            wait = ENDPOINTING.incomplete_delay_ms(taken[-1])
            if silence < wait - 1e-6 and not self.call.state.user.speaking:
                self.early.append(f"{taken[-1]!r} after {silence:.0f} ms (p={probability})")

    def user_turns(self) -> list[str]:
        return [m.text for m in self.call.state.history if m.role is Role.USER]

    @precondition(lambda self: not self.speaking)
    @rule(gap=st.floats(20, 3000))
    def caller_speaks(self, gap: float) -> None:
        self.speaking = True
        self.waiting_since = None  # the caller goes on: their next pause decides
        self.send(UserSpeechStarted(self.call.tick(gap)))

    @precondition(lambda self: self.speaking)
    @rule(speech=st.floats(100, 3000), asked=st.booleans())
    def caller_pauses(self, speech: float, asked: bool) -> None:
        self.speaking = False
        self.pause_ms = self.call.tick(speech)
        self.judged = False
        self.asked = asked
        self.final_due = True
        self.send(UserSpeechStopped(self.pause_ms, asked))

    @precondition(lambda self: not self.judged and self.pause_ms is not None)
    @rule(probability=st.floats(0, 1), after=st.floats(0, 400))
    def model_judges(self, probability: float, after: float) -> None:
        self.judged = True
        assert self.pause_ms is not None
        self.send(EndOfTurnPredicted(self.call.tick(after), probability, self.pause_ms))
        self.waiting_since = None

    @precondition(lambda self: self.final_due)
    @rule(text=st.sampled_from(FINALS), after=st.floats(0, 600))
    def final_arrives(self, text: str, after: float) -> None:
        self.final_due = False
        self.finals.append(text)
        at = self.call.tick(after)
        if self.asked and not self.judged and not self.speaking and not self.call.state.user.held:
            self.waiting_since = at
        self.send(FinalTranscript(at, text))

    @rule(ms=st.floats(10, 2000))
    def silence(self, ms: float) -> None:
        due = self.timer_due
        if due is not None and due <= self.call.now + ms:
            self.timer_due = None
            self.call.tick(max(0.0, due - self.call.now))
            self.send(self._fired())
        else:
            self.call.tick(ms)

    def _fired(self) -> Event:
        from domain.events import TimerFired

        return TimerFired(self.call.now, Timer.ENDPOINTING, self.call.token(Timer.ENDPOINTING))

    @invariant()
    def no_turn_ends_before_its_wait(self) -> None:
        assert not self.early, self.early

    @invariant()
    def every_final_word_is_taken_or_held_once_in_order(self) -> None:
        said = " ".join(self.finals).split()
        heard = " ".join([*self.user_turns(), self.call.state.user.held]).split()
        assert heard == said


CallerEndpointing.TestCase.settings = settings(max_examples=150, stateful_step_count=30)
TestCallerEndpointing = CallerEndpointing.TestCase
