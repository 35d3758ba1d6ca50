"""A test conversation: the agents folder, a model and tools, driven one caller action at a time.

::

    async with conversation("agents", model="offline") as convo:
        turn = await convo.user_says("I think someone stole my card")
        turn.expect.handoff_to("fraud").tool_call("report_fraud")

Every caller action returns a :class:`~bootstrap.testkit.turn.Turn`: what followed until the
conversation waited for the caller again. The conversation runs in the call runtime itself
(the same state machine, model, tool and timer handling as a phone call), in text or voice
mode (:mod:`bootstrap.testkit.modes`), on a virtual clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from adapters.tools import ToolRegistry
from bootstrap.testkit.events import Event, describe
from bootstrap.testkit.models import (
    ModelChoice,
    load_test_agents,
    load_tools,
    opened_model,
    with_model_options,
)
from bootstrap.testkit.modes import Driver, Until, Wiring, driver_for
from bootstrap.testkit.tools import UNSET, ToolDouble, ToolDoubles
from bootstrap.testkit.turn import Turn
from domain.runtime import RuntimeConfig
from domain.session import Conversation

__all__ = ["ConversationEnded", "TestConversation", "conversation"]


class ConversationEnded(RuntimeError):
    """A caller action after the call ended (the message says how it ended)."""


class TestConversation:
    """One conversation under test. Make it with :func:`conversation`; use ``async with``.

    The call is answered (the greeting, turn 0) by :meth:`start` or by the first caller
    action; leaving the ``async with`` block hangs up.

    Args:
        agents: The agents folder (agent YAML files, prompts, ``tools.py``).
        model: ``"offline"``, ``"configured"`` (``PARLEY_LLM`` from the environment and
            ``env_file``) or a :class:`~ports.LanguageModel`.
        mode: ``text`` or ``voice``.
        tools: A tools module path or a :class:`~adapters.tools.ToolRegistry`; default
            ``<agents>/tools.py`` (a fresh registry, so fresh fake data, per conversation).
        env_file: The dotenv file for ``model="configured"`` (missing is fine).
        model_options: Set on every agent's model options (``temperature``, ``seed``...).
        config: Runtime tuning (deadlines); the defaults when omitted.
        call_id: The call id tools see.

    Raises:
        AgentFileError: The agent files are invalid (each file and field named).
        ToolsModuleError: The tools module is missing, fails or defines no tools.
        ValueError: An unknown model option.
    """

    __test__ = False  # not a pytest test class, whatever module imports it

    def __init__(
        self,
        agents: str | Path = "agents",
        *,
        model: ModelChoice = "configured",
        mode: str = "text",
        tools: str | Path | ToolRegistry | None = None,
        env_file: str | Path | None = ".env",
        model_options: Mapping[str, Any] | None = None,
        config: RuntimeConfig | None = None,
        call_id: str = "test-call",
    ) -> None:
        self.agents_dir = Path(agents)
        registry = load_tools(self.agents_dir, Path(tools) if isinstance(tools, str) else tools)
        self._loaded = load_test_agents(self.agents_dir, registry)
        self._graph = with_model_options(self._loaded.graph, model_options or {})
        self._tools = ToolDoubles(registry)
        self._model = model
        self._env_file = Path(env_file) if env_file is not None else None
        self._config = config or RuntimeConfig()
        self._call_id = call_id
        self.mode = mode
        self._stack = contextlib.AsyncExitStack()
        self._driver: Driver | None = None
        self.turns: list[Turn] = []
        """Every turn so far (the greeting first)."""

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        # The call is answered by the first action (or by an explicit start(), which can stop
        # as the greeting starts playing so that the caller can talk over it).
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, *, until: Until = "done") -> Turn:
        """Answer the call: the start agent's greeting (turn 0). Idempotent.

        Args:
            until: ``done`` (the greeting has played) or ``agent_speaks`` (it has started,
                so that :meth:`caller_interrupts` can cut it; voice mode).

        Raises:
            SelectionError: ``model="configured"`` selects a model whose keys are not set.
        """
        if self._driver is not None:
            return self.turns[0]
        llm = await self._stack.enter_async_context(
            opened_model(self._model, self._loaded, self.agents_dir, self._env_file)
        )
        wiring = Wiring(
            conversation=Conversation(self._graph, self._loaded.policy),
            llm=llm,
            tools=self._tools,
            config=self._config,
            call_id=self._call_id,
        )
        self._driver = driver_for(self.mode, wiring)
        return await self._turn("greeting", lambda d: _none(d.start(until=until)), started=True)

    async def close(self) -> None:
        """Hang up from the caller's side (if the call is on) and release the model."""
        try:
            if self._driver is not None:
                await self._driver.close()
        finally:
            await self._stack.aclose()

    # -- caller actions ------------------------------------------------------------------

    async def user_says(self, text: str, *, until: Until = "done") -> Turn:
        """The caller says ``text`` (typed in text mode, spoken in voice mode).

        In voice mode, words said while the agent speaks talk over it (a barge-in).

        Args:
            text: The caller's words.
            until: ``done`` (default) or ``agent_speaks`` (return once the answer starts
                playing; voice mode).

        Returns:
            What followed, until the conversation waited for the caller again.

        Raises:
            ConversationEnded: The call is over.
            ValueError: ``text`` is blank (a silent caller is :meth:`silence`).
        """
        if not text.strip():
            raise ValueError("user_says needs words; a silent caller is silence(ms)")
        return await self._turn(f'caller: "{text.strip()}"', lambda d: d.say(text, until=until))

    async def silence(self, ms: float, *, until: Until = "done") -> Turn:
        """The caller stays silent for ``ms`` of virtual time (no-input timers may fire).

        What the silence starts (a reprompt, a goodbye) plays to the end before this returns.
        """
        return await self._turn(
            f"silence {ms:.0f} ms", lambda d: _none(d.silence(ms, until=until)), latency=False
        )

    async def dtmf(self, digits: str, *, until: Until = "done") -> Turn:
        """The caller presses ``digits`` (``0-9``, ``*``, ``#``, ``A-D``) on the keypad.

        Digits are submitted by the submit key (``#`` by default) or after the DTMF policy's
        inter-digit timeout.
        """
        return await self._turn(f"caller pressed {digits}", lambda d: d.dtmf(digits, until=until))

    async def caller_interrupts(
        self, after_ms: float = 800.0, *, saying: str | None = None, until: Until = "done"
    ) -> Turn:
        """The caller talks over the agent, ``after_ms`` into its speech (voice mode).

        Cuts the speech playing now (after an action with ``until="agent_speaks"``) or the
        agent's next speech. Without ``saying`` the caller makes a wordless sound: a false
        interruption, after which the agent resumes.

        Raises:
            ModeError: In text mode, or when the agent had finished before ``after_ms``.
        """
        shown = f': "{saying}"' if saying else " (no words)"
        return await self._turn(
            f"caller interrupts after {after_ms:.0f} ms{shown}",
            lambda d: d.interrupt(after_ms, saying, until=until),
        )

    # -- tools ---------------------------------------------------------------------------

    def mock_tool(
        self,
        name: str,
        *,
        returns: Any = UNSET,
        raises: BaseException | str | None = None,
        side_effect: Callable[..., Any] | None = None,
    ) -> ToolDouble:
        """Replace tool ``name``'s implementation for this conversation; its schema stays.

        Give exactly one of ``returns`` (a value), ``raises`` (an exception, or a message
        for a ``RuntimeError``) or ``side_effect`` (a function of the arguments). The model
        sees the same schema, the arguments are validated as for the real tool, and the
        double's ``calls`` records them.

        Raises:
            KeyError: No such tool. ValueError: Not exactly one behaviour given.
        """
        return self._tools.mock(name, returns=returns, raises=raises, side_effect=side_effect)

    def unmock_tool(self, name: str) -> None:
        """Put tool ``name``'s real implementation back."""
        self._tools.unmock(name)

    # -- looking -------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """Every event so far, in order."""
        return list(self._driver.recorder.events) if self._driver is not None else []

    @property
    def ended(self) -> bool:
        """True once the call is over."""
        return self._driver is not None and self._driver.ended

    @property
    def agent(self) -> str:
        """The active agent."""
        return self._driver.agent if self._driver is not None else self._graph.start

    @property
    def greeting(self) -> Turn | None:
        """Turn 0, once started."""
        return self.turns[0] if self.turns else None

    def transcript(self) -> str:
        """The whole conversation so far, turn by turn (what the pytest plugin prints)."""
        head = f"conversation on {self.agents_dir} ({self.mode} mode)"
        return "\n\n".join([head, *(turn.render() for turn in self.turns)])

    # -- internals -----------------------------------------------------------------------

    async def _turn(
        self,
        action: str,
        act: Callable[[Driver], Awaitable[float | None]],
        *,
        started: bool = False,
        latency: bool = True,
    ) -> Turn:
        if self._driver is None:
            await self.start()
        driver = self._driver
        assert driver is not None  # noqa: S101 (started above)
        if driver.ended and not started:
            last = next((describe(e) for e in reversed(driver.recorder.events)), "ended")
            raise ConversationEnded(f"cannot act ({action}): the call is over ({last})")
        first = len(driver.recorder.events)
        began = driver.clock.now_ms()
        input_end = await act(driver)
        reply_ms = (
            driver.first_words_after(input_end, first)
            if latency and input_end is not None
            else None
        )
        turn = Turn(
            len(self.turns),
            action,
            driver.recorder.events[first:],
            latency_ms=reply_ms - input_end
            if reply_ms is not None and input_end is not None
            else None,
            agent=driver.agent,
            started_ms=began,
            ended_ms=driver.clock.now_ms(),
            mode=driver.mode,
        )
        self.turns.append(turn)
        return turn


async def _none(awaitable: Awaitable[None]) -> None:
    await awaitable


def conversation(
    agents: str | Path = "agents",
    *,
    model: ModelChoice = "configured",
    mode: str = "text",
    tools: str | Path | ToolRegistry | None = None,
    env_file: str | Path | None = ".env",
    model_options: Mapping[str, Any] | None = None,
    config: RuntimeConfig | None = None,
    call_id: str = "test-call",
) -> TestConversation:
    """A test conversation on the agents folder ``agents`` (arguments: :class:`TestConversation`).

    Use it with ``async with`` (the first action answers the call; the end hangs up)::

        async with conversation("agents", model="offline", mode="voice") as convo:
            turn = await convo.user_says("what is my balance")
            turn.expect.tool_call("check_balance").says(contains="dollars")
    """
    return TestConversation(
        agents,
        model=model,
        mode=mode,
        tools=tools,
        env_file=env_file,
        model_options=model_options,
        config=config,
        call_id=call_id,
    )
