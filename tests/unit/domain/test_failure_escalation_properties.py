"""Issue 12 item 2 as a property: failing providers cannot keep a call alive forever.

A closed loop stands in for the runtime: every ``Speak`` is answered by a synthesis failure
when text-to-speech is failing (else by its completion), every ``StartResponse`` by a
``ResponseFailed`` when the language model is failing (else by text or a tool round), every
``RunTool`` by an error result when tools are failing, timers fire when nothing else is
pending, and a failing speech-to-text keeps reporting ``ProviderFailed`` instead of
transcripts. After a finite caller script, the call must end (hang-up or accepted transfer)
within a bounded number of steps, with a bounded transcript.
"""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.agents import AgentGraph, AgentSpec
from domain.commands import (
    CancelTimer,
    EmitTranscript,
    HangUp,
    RunTool,
    Speak,
    StartResponse,
    StartTimer,
    TransferCall,
)
from domain.conversation import Conversation, Phase
from domain.events import (
    CallStarted,
    DtmfDigit,
    Event,
    FinalTranscript,
    PlaybackCompleted,
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
from domain.policies import ConversationPolicy, FailurePolicy, NoInputPolicy
from ports import ToolCall, ToolResult

GRAPH = AgentGraph(
    "main", (AgentSpec("main", "Be helpful.", greeting="Hello.", tools=("check_balance",)),)
)
PROVIDERS = ("speech_to_text", "language_model", "text_to_speech", "tool")
# Steps allowed once the caller's script is over: every failure, reprompt and escalation
# takes a handful of steps; a failure path that re-enters itself never stops.
STEPS_AFTER_SCRIPT = 200


class LoopedCall:
    """The conversation with a stand-in runtime whose providers fail as told."""

    def __init__(
        self, policy: ConversationPolicy, failing: frozenset[str], data: st.DataObject
    ) -> None:
        self.conversation = Conversation(GRAPH, policy)
        self.state = self.conversation.initial_state("call-1")
        self.failing = failing
        self.data = data
        self.now = 0.0
        self.steps = 0
        self.transcript = 0
        self.queue: deque[Event] = deque()
        self.timers: dict[str, tuple[int, float]] = {}
        self.transfer_accepted = data.draw(st.booleans(), label="transfer accepted")

    @property
    def ended(self) -> bool:
        return self.state.phase is Phase.ENDED

    def tick(self, ms: float = 10.0) -> float:
        self.now += ms
        return self.now

    def run(self, limit: int) -> None:
        """Process queued events (and what they cause) for at most ``limit`` steps."""
        start = self.steps
        while self.queue and not self.ended and self.steps - start < limit:
            self.step(self.queue.popleft())

    def step(self, event: Event) -> None:
        self.steps += 1
        step = self.conversation.step(self.state, event)
        assert not (step.noop_reason or "").startswith("internal error"), step.noop_reason
        self.state = step.state
        for command in step.commands:
            self.answer(command)

    def answer(self, command: object) -> None:  # noqa: C901 (one branch per command)
        q = self.queue
        if isinstance(command, Speak):
            if "text_to_speech" in self.failing:
                q.append(ProviderFailed(self.tick(), "text_to_speech", "authentication"))
            else:
                q.append(PlaybackCompleted(self.tick(800), command.speech_id, 800.0))
        elif isinstance(command, StartResponse):
            rid = command.response_id
            if "language_model" in self.failing:
                q.append(ResponseFailed(self.tick(), rid, "unavailable"))
            elif self.data.draw(st.booleans(), label="tool round"):
                call = ToolCall(f"c{self.steps}", "check_balance")
                q.append(ToolCallsRequested(self.tick(), rid, (call,)))
            else:
                q.append(ResponseTextDelta(self.tick(), rid, "Your balance is ten dollars."))
                q.append(ResponseCompleted(self.tick(), rid))
        elif isinstance(command, RunTool):
            failed = "tool" in self.failing
            content = "tool check_balance failed" if failed else "10 dollars"
            result = ToolResult(command.call.id, content, is_error=failed)
            q.append(ToolCompleted(self.tick(), command.response_id, result))
            q.append(ResponseCompleted(self.tick(), command.response_id))
        elif isinstance(command, StartTimer):
            self.timers[command.name] = (command.token, self.now + command.delay_ms)
        elif isinstance(command, CancelTimer):
            self.timers.pop(command.name, None)
        elif isinstance(command, TransferCall):
            q.append(TransferResult(self.tick(500), self.transfer_accepted))
        elif isinstance(command, HangUp):
            pass  # the domain already ended the call; the runtime hangs up
        elif isinstance(command, EmitTranscript):
            self.transcript += 1

    def fire_next_timer(self) -> bool:
        if not self.timers:
            return False
        name, (token, due) = min(self.timers.items(), key=lambda item: item[1][1])
        del self.timers[name]
        self.now = max(self.now, due)
        self.queue.append(TimerFired(self.now, name, token))
        return True

    def caller(self, action: str) -> None:
        q = self.queue
        if action == "say":
            q.append(UserSpeechStarted(self.tick()))
            if "speech_to_text" in self.failing:
                q.append(ProviderFailed(self.tick(), "speech_to_text", "authentication"))
            else:
                q.append(FinalTranscript(self.tick(), "what is my balance"))
            q.append(UserSpeechStopped(self.tick(300)))
        elif action == "dtmf":
            q.append(DtmfDigit(self.tick(), "1"))
            q.append(DtmfDigit(self.tick(), "#"))
        elif action == "stt_failure":
            q.append(ProviderFailed(self.tick(), "speech_to_text", "unavailable"))

    def idle(self) -> None:
        """Nothing pending: a failing recognizer fails again (it reconnects), or a timer fires."""
        stt_fails_again = "speech_to_text" in self.failing and self.data.draw(
            st.booleans(), label="stt"
        )
        if stt_fails_again:
            self.queue.append(ProviderFailed(self.tick(1000), "speech_to_text", "unavailable"))
        else:
            assert self.fire_next_timer(), f"stuck in {self.state.phase} with no timer running"


FAILING = st.frozensets(st.sampled_from(PROVIDERS), min_size=1).filter(
    lambda s: s != frozenset({"tool"})  # tool errors are answers, not provider failures
)
POLICIES = st.builds(
    ConversationPolicy,
    no_input=st.builds(NoInputPolicy, max_reprompts=st.integers(0, 3)),
    failures=st.builds(
        FailurePolicy,
        max_consecutive_failures=st.integers(1, 4),
        transfer_target=st.sampled_from([None, "+15550199"]),
    ),
)
SCRIPT = st.lists(st.sampled_from(["say", "dtmf", "stt_failure", "wait"]), max_size=8)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(policy=POLICIES, failing=FAILING, script=SCRIPT, data=st.data())
def test_failing_providers_end_the_call_within_a_bounded_number_of_steps(
    policy: ConversationPolicy, failing: frozenset[str], script: list[str], data: st.DataObject
) -> None:
    call = LoopedCall(policy, failing, data)
    call.queue.append(CallStarted(call.tick(), "call-1"))
    per_action = 60  # a whole turn with a tool round and reprompts fits easily
    for action in script:
        call.run(per_action)
        assert len(call.queue) == 0 or call.ended, "one caller action kept the call busy"
        if call.ended:
            break
        if action == "wait":
            call.fire_next_timer()
        else:
            call.caller(action)
    after = call.steps
    while not call.ended and call.steps - after < STEPS_AFTER_SCRIPT:
        if not call.queue:
            call.idle()
        call.run(STEPS_AFTER_SCRIPT)
    assert call.ended, f"still {call.state.phase} after {call.steps - after} steps"
    # Every step emits at most a few lines; a loop would emit thousands.
    assert call.transcript <= 4 * (len(script) + 1) + 40
    assert len(call.state.status.errors) <= 32
