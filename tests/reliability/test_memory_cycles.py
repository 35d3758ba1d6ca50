"""A finished call leaves no reference cycles: its objects are freed by reference counting.

Issue 12 item 9: with ``gc.freeze()`` and a first-generation threshold of 20,000 in
``parley serve``, cyclic garbage from each call waited long for a collection and RSS grew.
These tests run whole calls through the runtime on fakes with the collector DISABLED and
then look, through ``gc.get_objects()`` and weakrefs, for anything the call left behind.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import Counter

import pytest

from adapters.memory import FunctionToolExecutor, ScriptedTurn
from domain.agents import AgentGraph, AgentSpec
from domain.session import Conversation
from ports import ToolCall
from tests.unit.runtime.harness import make_rig

PER_CALL_MODULES = (
    "domain.runtime.",
    "domain.session",
    "domain.commands",
    "domain.events",
    "adapters.memory.media_stream",
    "adapters.memory.text_to_speech",
)
"""Classes of these modules are made per call (the conversation is shared, as in serve)."""

PER_CALL_BUILTINS = ("Task", "Future", "coroutine", "frame", "traceback", "CancelledError")

PROCESS_LEVEL = ("Conversation", "FakeTextToSpeech")
"""One per process in ``parley serve``; the rig makes one per call."""


def _census() -> Counter[str]:
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        cls = type(obj)
        module = getattr(cls, "__module__", "")
        if not isinstance(module, str):  # some extension types expose a descriptor
            module = ""
        if cls.__name__ in PROCESS_LEVEL:
            continue
        if module.startswith(PER_CALL_MODULES) or cls.__name__ in PER_CALL_BUILTINS:
            counts[f"{module}.{cls.__qualname__}"] += 1
    return counts


CONCIERGE = AgentSpec(name="concierge", greeting="Hello, how can I help?")
CONCIERGE_WITH_TOOL = AgentSpec(
    name="concierge", greeting="Hello, how can I help?", tools=("check_balance",)
)


async def _one_call(kind: str, conversation: Conversation) -> list[weakref.ref[object]]:
    if kind == "tool":
        tools = FunctionToolExecutor()
        tools.add_function(lambda account="main": {"balance": 42}, name="check_balance")
        rig = make_rig(
            conversation=conversation,
            tools=tools,
            heard=["what is my balance"],
            turns=[
                ScriptedTurn(tool_calls=(ToolCall("t1", "check_balance", {}),)),
                "You have forty two dollars.",
            ],
        )
    else:
        rig = make_rig(
            conversation=conversation,
            heard=["what is my balance"],
            turns=["You have forty two dollars."],
        )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    if kind == "barge_in":
        await rig.silence(700)
        await rig.say(600)
    await rig.silence(3000)
    summary = await rig.hang_up_remote()
    assert summary.agent_turns >= 1
    if kind == "barge_in":
        assert summary.barge_ins >= 1
    if kind == "tool":
        assert [c.name for c in rig.tools.calls] == ["check_balance"]  # type: ignore[attr-defined]
    refs: list[weakref.ref[object]] = [weakref.ref(rig.media), weakref.ref(rig.runtime)]
    assert rig.task is not None
    refs.append(weakref.ref(rig.task))
    del rig, summary
    return refs


@pytest.mark.parametrize("kind", ["plain", "barge_in", "tool"])
async def test_a_finished_call_is_freed_by_reference_counting_alone(
    kind: str, collector_off: None
) -> None:
    agent = CONCIERGE_WITH_TOOL if kind == "tool" else CONCIERGE
    conversation = Conversation(AgentGraph(start="concierge", agents=(agent,)))
    await _one_call(kind, conversation)  # warm-up: first-use caches (regexes, loggers)
    await asyncio.sleep(0)
    before = _census()
    refs = await _one_call(kind, conversation)
    for _ in range(3):
        await asyncio.sleep(0)
    alive = [r() for r in refs if r() is not None]
    left = {k: n for k, n in (_census() - before).items() if n > 0}
    assert not alive and not left, f"left behind without a collection: {alive} {left}"
