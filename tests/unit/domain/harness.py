"""A small driver for the session state machine: feeds events, records commands, keeps time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from domain.agents import AgentGraph, AgentSpec, HandoffTarget
from domain.commands import (
    Command,
    EmitTranscript,
    Speak,
    StartResponse,
)
from domain.conversation import Conversation, SessionState, Step
from domain.events import (
    CallStarted,
    Event,
    FinalTranscript,
    PartialTranscript,
    PlaybackCompleted,
    PlaybackProgress,
    ResponseCompleted,
    ResponseTextDelta,
    TimerFired,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import ConversationPolicy

GREETING = "Hello, thanks for calling the bank. How can I help?"


def bank_graph(**main_overrides: object) -> AgentGraph:
    main = AgentSpec(
        name="concierge",
        instructions="You are a bank concierge.",
        greeting=GREETING,
        reprompt="Are you still there?",
        fallback="Sorry, I had trouble with that.",
        goodbye="Goodbye.",
        tools=("check_balance", "lock_card"),
        handoffs=(HandoffTarget("fraud", "Card fraud and lost cards"),),
    )
    if main_overrides:
        main = replace(main, **main_overrides)
    fraud = AgentSpec(
        name="fraud",
        instructions="You handle card fraud.",
        handoff_greeting="Fraud team here, I can help.",
        handoffs=(HandoffTarget("concierge", "Everything else"),),
        tools=("lock_card",),
    )
    return AgentGraph("concierge", (main, fraud))


class Call:
    """One call driven through a Conversation, with a clock that only moves when told."""

    def __init__(
        self,
        graph: AgentGraph | None = None,
        policy: ConversationPolicy | None = None,
    ) -> None:
        self.conversation = Conversation(graph or bank_graph(), policy)
        self.state: SessionState = self.conversation.initial_state("call-1")
        self.now = 0.0
        self.commands: list[Command] = []
        self.last: Step | None = None

    # -- plumbing --------------------------------------------------------------------------

    def send(self, event: Event) -> Step:
        step = self.conversation.step(self.state, event)
        assert not (step.noop_reason or "").startswith("internal error"), step.noop_reason
        self.state = step.state
        self.commands.extend(step.commands)
        self.last = step
        return step

    def tick(self, ms: float = 10.0) -> float:
        self.now += ms
        return self.now

    def of(self, kind: type[Command]) -> list[Command]:
        return [c for c in self.commands if isinstance(c, kind)]

    def transcript(self) -> list[tuple[str, str, bool]]:
        return [
            (c.entry.kind, c.entry.text, c.entry.interrupted)
            for c in self.commands
            if isinstance(c, EmitTranscript) and c.entry.kind in ("user", "assistant")
        ]

    def response_id(self) -> str:
        assert self.state.response is not None, "no response in flight"
        return self.state.response.response_id

    def last_start(self) -> StartResponse:
        starts = [c for c in self.commands if isinstance(c, StartResponse)]
        assert starts, "no StartResponse issued"
        return starts[-1]

    def unplayed(self) -> list[str]:
        reply = self.state.reply
        if reply is None:
            return []
        return [c.speech_id for c in reply.clauses[reply.played :]]

    def token(self, name: str) -> int:
        for timer, token in self.state.timers:
            if timer == name:
                return token
        raise AssertionError(f"timer {name!r} is not running: {self.state.timers}")

    # -- scenes ----------------------------------------------------------------------------

    def start(self) -> Step:
        return self.send(CallStarted(self.tick(0), "call-1"))

    def fire(self, name: str, after_ms: float = 0.0) -> Step:
        return self.send(TimerFired(self.tick(after_ms), name, self.token(name)))

    def play(self, speech_ids: Iterable[str] | None = None, ms_each: float = 1000.0) -> Step | None:
        step = None
        for speech_id in list(speech_ids if speech_ids is not None else self.unplayed()):
            step = self.send(PlaybackCompleted(self.tick(ms_each), speech_id, ms_each))
        return step

    def greet(self) -> None:
        self.start()
        self.play()

    def user_says(self, text: str, speech_ms: float = 600.0) -> Step:
        self.send(UserSpeechStarted(self.tick(200)))
        self.send(PartialTranscript(self.tick(speech_ms / 2), text.split()[0]))
        self.send(UserSpeechStopped(self.tick(speech_ms / 2)))
        return self.send(FinalTranscript(self.tick(100), text))

    def model_says(self, text: str, complete: bool = True) -> list[Speak]:
        rid = self.response_id()
        before = len(self.commands)
        for piece in text.split(" "):
            self.send(ResponseTextDelta(self.tick(5), rid, piece + " "))
        if complete:
            self.send(ResponseCompleted(self.tick(5), rid))
        return [c for c in self.commands[before:] if isinstance(c, Speak)]

    def progress(self, speech_id: str, played_ms: float, text: str | None = None) -> Step:
        return self.send(PlaybackProgress(self.tick(20), speech_id, played_ms, text))
