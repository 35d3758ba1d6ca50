"""Property tests: random event sequences never break the session's promises.

A hypothesis rule-based machine feeds random but plausible events (ids taken from the state,
with some stale or unknown ones mixed in) and checks after every step that:

* never two responses are in flight;
* no Speak is issued for a response after its StopPlayback;
* after the call has ended, no command other than SaveSession is issued;
* interrupted assistant text is a word prefix of the full text;
* every finished user turn and assistant message is transcribed exactly once, in order;
* the state round-trips through ``to_dict``/``json``/``from_dict``;
* no event ever raises or hits an internal error.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.agents import AgentGraph, AgentSpec, HandoffTarget
from domain.commands import (
    CancelResponse,
    EmitTranscript,
    RunTool,
    SaveSession,
    Speak,
    StartResponse,
    StopPlayback,
)
from domain.conversation import MAX_ERRORS, Conversation, Phase, SessionState
from domain.events import (
    CallEnded,
    CallStarted,
    DtmfDigit,
    Event,
    FinalTranscript,
    PartialTranscript,
    PlaybackCompleted,
    PlaybackProgress,
    ProviderFailed,
    ResponseCompleted,
    ResponseFailed,
    ResponseTextDelta,
    TimerFired,
    ToolCallsRequested,
    ToolCompleted,
    TransferResult,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import (
    BargeInPolicy,
    ConversationPolicy,
    FailurePolicy,
    HandoffPolicy,
    NoInputPolicy,
    ToolPolicy,
)
from ports import HandOff, HangUp, Role, ToolCall, ToolResult, TransferCall

GRAPH = AgentGraph(
    "main",
    (
        AgentSpec(
            "main",
            "Be helpful.",
            greeting="Hello, how can I help?",
            tools=("check_balance",),
            handoffs=(HandoffTarget("fraud", "fraud"),),
        ),
        AgentSpec(
            "fraud",
            "Fraud.",
            handoff_greeting="Fraud team here.",
            handoffs=(HandoffTarget("main", "main"),),
            greeting_interruptible=False,
        ),
    ),
)

POLICIES = st.builds(
    ConversationPolicy,
    barge_in=st.builds(
        BargeInPolicy,
        min_speech_ms=st.sampled_from([0.0, 300.0]),
        min_words=st.sampled_from([0, 2]),
        resume_false_interruption=st.booleans(),
    ),
    no_input=st.builds(NoInputPolicy, max_reprompts=st.integers(0, 2)),
    tools=st.builds(ToolPolicy, max_tool_rounds=st.integers(1, 3)),
    handoffs=st.builds(HandoffPolicy, max_handoffs_per_turn=st.integers(0, 2)),
    failures=st.builds(
        FailurePolicy,
        max_consecutive_failures=st.integers(1, 3),
        transfer_target=st.sampled_from([None, "+15550100"]),
    ),
)

DELTAS = st.sampled_from(
    [
        "Hello",
        ". ",
        "Your balance is $1,234.56",
        " today, and",
        " Dr. Smith",
        " e.g. this",
        "? ",
        " ok",
    ]
)
WORDS = st.sampled_from(["", "  ", "uh-huh", "yeah okay", "stop", "lock my card", "wait a second"])


def words(text: str) -> list[str]:
    return text.split()


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.conversation: Conversation | None = None
        self.state: SessionState | None = None
        self.now = 0.0
        self.ended = False
        self.open: dict[str, dict[str, object]] = {}  # response id -> {"streaming", "pending"}
        self.stopped: set[str] = set()
        self.lines: list[tuple[str, str]] = []
        self.last_line_ms = 0.0

    # -- plumbing --------------------------------------------------------------------------

    @precondition(lambda self: self.conversation is None)
    @rule(policy=POLICIES)
    def begin(self, policy: ConversationPolicy) -> None:
        self.conversation = Conversation(GRAPH, policy)
        self.state = self.conversation.initial_state("call")
        self.feed(CallStarted(self.now, "call"))

    def feed(self, event: Event) -> None:
        assert self.conversation is not None and self.state is not None
        before = self.state
        step = self.conversation.step(before, event)
        assert not (step.noop_reason or "").startswith("internal error"), step.noop_reason
        if step.noop_reason is not None:
            assert step.commands == ()
            assert step.state is before
        self.check_commands(before, event, step.commands)
        self.state = step.state
        if self.state.phase is Phase.ENDED:
            self.ended = True

    def check_commands(self, before: SessionState, event: Event, commands: tuple) -> None:  # type: ignore[type-arg]
        if self.ended:
            assert all(isinstance(c, SaveSession) for c in commands), commands
        # responses the runtime still sees in flight, given the events fed so far
        if isinstance(event, ResponseCompleted) and event.response_id in self.open:
            self.open[event.response_id]["streaming"] = False
        if isinstance(event, ResponseFailed):
            self.open.pop(event.response_id, None)
        if isinstance(event, ToolCompleted) and event.response_id in self.open:
            pending = self.open[event.response_id]["pending"]
            assert isinstance(pending, set)
            pending.discard(event.result.call_id)
        for rid in [r for r, v in self.open.items() if not v["streaming"] and not v["pending"]]:
            del self.open[rid]
        for command in commands:
            if isinstance(command, StopPlayback):
                if before.response is not None:
                    self.stopped.add(before.response.response_id)
                if before.reply is not None:
                    self.stopped.update(
                        c.response_id for c in before.reply.clauses if c.response_id
                    )
            elif isinstance(command, Speak):
                assert command.response_id is None or command.response_id not in self.stopped
            elif isinstance(command, CancelResponse):
                self.open.pop(command.response_id, None)
            elif isinstance(command, StartResponse):
                assert not self.open, (
                    f"two responses in flight: {self.open} + {command.response_id}"
                )
                self.open[command.response_id] = {"streaming": True, "pending": set()}
            elif isinstance(command, RunTool):
                pending = self.open[command.response_id]["pending"]
                assert isinstance(pending, set)
                pending.add(command.call.id)
            elif isinstance(command, EmitTranscript):
                entry = command.entry
                assert entry.at_ms >= self.last_line_ms, "transcript out of order"
                self.last_line_ms = entry.at_ms
                if entry.kind in ("user", "assistant"):
                    self.lines.append((entry.kind, entry.text))
                if entry.interrupted:
                    self.check_prefix(before, entry.text)

    def check_prefix(self, before: SessionState, text: str) -> None:
        fulls: list[str] = []
        reply = before.reply
        if reply is not None:
            fulls.append(reply.prefix + reply.text[reply.committed :] + reply.buffer)
        if before.resume is not None:
            fulls.append(before.resume.heard + " " + before.resume.rest)
        heard = words(text)
        assert any(words(full)[: len(heard)] == heard for full in fulls), (text, fulls)

    def tick(self, dt: float) -> float:
        self.now += dt
        return self.now

    def response_id(self, data: st.DataObject) -> str:
        assert self.state is not None
        if self.state.response is not None and data.draw(st.integers(0, 9)) > 0:
            return self.state.response.response_id
        return data.draw(st.sampled_from(["r1", "r2", "r999", "bogus"]))

    def speech_id(self, data: st.DataObject) -> str:
        assert self.state is not None
        reply = self.state.reply
        if reply is not None and reply.clauses and data.draw(st.integers(0, 9)) > 0:
            index = min(len(reply.clauses) - 1, reply.played + data.draw(st.integers(0, 1)))
            return reply.clauses[index].speech_id
        return data.draw(st.sampled_from(["s1", "s2", "s999"]))

    # -- rules -----------------------------------------------------------------------------

    started = precondition(lambda self: self.conversation is not None)

    @started
    @rule(dt=st.floats(0, 400))
    def speech_started(self, dt: float) -> None:
        self.feed(UserSpeechStarted(self.tick(dt)))

    @started
    @rule(dt=st.floats(0, 800))
    def speech_stopped(self, dt: float) -> None:
        self.feed(UserSpeechStopped(self.tick(dt)))

    @started
    @rule(dt=st.floats(0, 300), text=WORDS)
    def partial(self, dt: float, text: str) -> None:
        self.feed(PartialTranscript(self.tick(dt), text))

    @started
    @rule(dt=st.floats(0, 600), text=WORDS)
    def final(self, dt: float, text: str) -> None:
        self.feed(FinalTranscript(self.tick(dt), text))

    @started
    @rule(dt=st.floats(0, 500), digit=st.sampled_from(list("129*#x")))
    def dtmf(self, dt: float, digit: str) -> None:
        self.feed(DtmfDigit(self.tick(dt), digit))

    @started
    @rule(data=st.data(), text=DELTAS)
    def delta(self, data: st.DataObject, text: str) -> None:
        self.feed(ResponseTextDelta(self.tick(5), self.response_id(data), text))

    @precondition(lambda self: self.state is not None and self.state.response is not None)
    @rule(
        data=st.data(),
        names=st.lists(
            st.sampled_from(
                ["check_balance", "handoff_to_fraud", "handoff_to_main", "handoff_to_x"]
            ),
            min_size=1,
            max_size=2,
        ),
    )
    def tool_calls(self, data: st.DataObject, names: list[str]) -> None:
        assert self.state is not None
        calls = tuple(ToolCall(f"c{self.state.seq}_{i}", n) for i, n in enumerate(names))
        self.feed(ToolCallsRequested(self.tick(5), self.response_id(data), calls))

    @started
    @rule(
        data=st.data(),
        action=st.sampled_from([None, None, HandOff("fraud"), TransferCall("+1"), HangUp()]),
        is_error=st.booleans(),
    )
    def tool_completed(self, data: st.DataObject, action: object, is_error: bool) -> None:
        assert self.state is not None
        resp = self.state.response
        call_id = "unknown"
        if resp is not None and resp.pending_calls:
            call_id = data.draw(st.sampled_from([c.id for c in resp.pending_calls]))
        result = ToolResult(call_id, "result", is_error, action)  # type: ignore[arg-type]
        self.feed(ToolCompleted(self.tick(50), self.response_id(data), result))

    @started
    @rule(data=st.data())
    def response_completed(self, data: st.DataObject) -> None:
        self.feed(ResponseCompleted(self.tick(5), self.response_id(data)))

    @started
    @rule(data=st.data(), code=st.sampled_from(["timeout", "content_filtered", "unavailable"]))
    def response_failed(self, data: st.DataObject, code: str) -> None:
        self.feed(ResponseFailed(self.tick(5), self.response_id(data), code))

    @started
    @rule(data=st.data(), played=st.floats(0, 3000), with_text=st.booleans())
    def progress(self, data: st.DataObject, played: float, with_text: bool) -> None:
        speech_id = self.speech_id(data)
        text = None
        if with_text and self.state is not None and self.state.reply is not None:
            clause = next((c for c in self.state.reply.clauses if c.speech_id == speech_id), None)
            if clause is not None:
                ws = clause.text.split()
                text = " ".join(ws[: data.draw(st.integers(0, len(ws)))])
        duration = data.draw(st.sampled_from([None, 1500.0]))
        self.feed(PlaybackProgress(self.tick(20), speech_id, played, text, duration))

    @started
    @rule(data=st.data())
    def playback_completed(self, data: st.DataObject) -> None:
        self.feed(PlaybackCompleted(self.tick(200), self.speech_id(data), 1000.0))

    @started
    @rule(data=st.data(), dt=st.floats(0, 9000))
    def timer_fired(self, data: st.DataObject, dt: float) -> None:
        assert self.state is not None
        if self.state.timers and data.draw(st.integers(0, 5)) > 0:
            name, token = data.draw(st.sampled_from(self.state.timers))
        else:
            name, token = data.draw(st.sampled_from(["no_input", "barge_in", "nope"])), 0
        self.feed(TimerFired(self.tick(dt), name, token))

    @started
    @rule(port=st.sampled_from(["text_to_speech", "speech_to_text"]))
    def provider_failed(self, port: str) -> None:
        self.feed(ProviderFailed(self.tick(10), port, "unavailable"))

    @precondition(lambda self: self.state is not None and self.state.status.transferring)
    @rule(accepted=st.booleans())
    def transfer_result(self, accepted: bool) -> None:
        self.feed(TransferResult(self.tick(100), accepted))

    @started
    @precondition(lambda self: self.now > 20000)
    @rule()
    def call_ended(self) -> None:
        self.feed(CallEnded(self.tick(10)))

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def recorded_errors_stay_bounded(self) -> None:
        if self.state is not None:
            assert len(self.state.status.errors) <= MAX_ERRORS

    @invariant()
    def state_round_trips_through_json(self) -> None:
        if self.state is None:
            return
        data = json.loads(json.dumps(self.state.to_dict()))
        assert SessionState.from_dict(data) == self.state

    @invariant()
    def every_finished_line_is_transcribed_exactly_once_in_order(self) -> None:
        if self.state is None:
            return
        expected = [
            (str(m.role), m.text)
            for m in self.state.history
            if m.role in (Role.USER, Role.ASSISTANT) and m.text
        ]
        if self.state.turn.open:
            # the open turn's line is emitted when it is sealed (it may still merge)
            last_user = max(i for i, (kind, _) in enumerate(expected) if kind == "user")
            del expected[last_user]
        assert self.lines == expected


SessionMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSessionProperties = SessionMachine.TestCase
