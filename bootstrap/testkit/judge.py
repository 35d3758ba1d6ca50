"""The model-graded check: a language model judges whether the agent's words fulfil an intent.

Any :class:`~ports.LanguageModel` can judge (the configured Azure OpenAI or OpenAI-compatible
model, or a scripted fake offline). The judge is asked, at temperature 0, to call one tool,
``verdict(success, reason)``; a model that answers in text instead is read for the same JSON
object. The offline dialog model cannot judge (it answers from intents, not instructions).

:func:`scripted_judge` builds an offline judge from a Python rule, to test scenarios that use
judged intents without a real model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adapters.memory import ScriptedLanguageModel, ScriptedTurn
from ports import (
    ChatMessage,
    JsonValue,
    LanguageModel,
    ModelOptions,
    Role,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
    ToolSpec,
)

__all__ = ["JUDGE_TOOL", "JudgeError", "Verdict", "judge", "scripted_judge"]

JUDGE_TOOL = ToolSpec(
    name="verdict",
    description="Give your judgement: does the agent's message fulfil the intent?",
    parameters={
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "description": "True when the intent is fulfilled."},
            "reason": {"type": "string", "description": "One sentence explaining why."},
        },
        "required": ["success", "reason"],
    },
)

JUDGE_INSTRUCTIONS = (
    "You evaluate a voice agent in an automated test. You are shown what the agent said in one"
    " turn of a phone conversation and an intent the test expects. Decide whether the agent's"
    " words clearly fulfil the intent. Be strict: when they do not clearly fulfil it, the"
    " verdict is a failure. Answer only by calling the `verdict` tool with `success` and a"
    " one-sentence `reason`."
)

_INTENT = re.compile(r"^Intent:\n(?P<intent>.*?)\n\nThe agent said:\n(?P<said>.*)$", re.S)


class JudgeError(RuntimeError):
    """The judge model gave no verdict (no ``verdict`` call and no JSON verdict in its text)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judge's answer.

    Attributes:
        success: The intent is fulfilled.
        reason: The judge's one-sentence explanation.
    """

    success: bool
    reason: str


def judge_messages(intent: str, said: str) -> list[ChatMessage]:
    """The two messages a judge receives (system instructions, then the case)."""
    return [
        ChatMessage(Role.SYSTEM, JUDGE_INSTRUCTIONS),
        ChatMessage(Role.USER, f"Intent:\n{intent}\n\nThe agent said:\n{said}"),
    ]


def _verdict(arguments: object) -> Verdict | None:
    if not isinstance(arguments, dict) or "success" not in arguments:
        return None
    success = arguments["success"]
    if isinstance(success, str):
        success = success.strip().lower() in ("true", "yes", "pass")
    return Verdict(bool(success), str(arguments.get("reason", "")).strip())


async def judge(
    model: LanguageModel, *, intent: str, said: str, timeout_s: float = 60.0
) -> Verdict:
    """Ask ``model`` whether ``said`` fulfils ``intent``.

    Args:
        model: The judge.
        intent: What the agent's words should do ("confirms the card is locked").
        said: The agent's words in the turn.
        timeout_s: Deadline for the whole answer, s.

    Returns:
        The verdict.

    Raises:
        JudgeError: The model answered without a verdict.
        ParleyError: The model failed (a port error: unavailable, rate limited...).
        TimeoutError: No complete answer within ``timeout_s``.
    """
    text: list[str] = []
    calls: list[ToolCall] = []
    async with asyncio.timeout(timeout_s):
        stream = model.stream(
            judge_messages(intent, said), [JUDGE_TOOL], ModelOptions(temperature=0.0)
        )
        async for event in stream:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallsRequested):
                calls.extend(event.calls)
    for call in calls:
        if call.name == JUDGE_TOOL.name and (found := _verdict(dict(call.arguments))):
            return found
    answer = "".join(text)
    match = re.search(r"\{.*\}", answer, re.S)
    if match:
        try:
            found = _verdict(json.loads(match.group(0)))
        except ValueError:
            found = None
        if found is not None:
            return found
    raise JudgeError(f"the judge model gave no verdict (it answered: {answer.strip()[:200]!r})")


def scripted_judge(rule: Callable[[str, str], tuple[bool, str] | bool]) -> LanguageModel:
    """An offline judge: ``rule(intent, said)`` decides, answering as a real model would.

    Args:
        rule: Returns ``(success, reason)`` or just ``success`` for the intent and the agent's
            words.

    Returns:
        A :class:`~ports.LanguageModel` that answers judge prompts with a ``verdict`` call
        (and any other prompt with a plain "I only judge." text).
    """

    def respond(
        messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
    ) -> ScriptedTurn:
        last = messages[-1].text if messages else ""
        case = _INTENT.match(last)
        if case is None:
            return ScriptedTurn("I only judge.")
        outcome = rule(case.group("intent"), case.group("said"))
        success, reason = outcome if isinstance(outcome, tuple) else (outcome, "by rule")
        arguments: dict[str, JsonValue] = {"success": bool(success), "reason": reason}
        return ScriptedTurn(tool_calls=(ToolCall("judge_1", JUDGE_TOOL.name, arguments),))

    return ScriptedLanguageModel(responder=respond)
