"""Function tools: schema from the signature, validation, deadlines, actions, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from dataclasses import dataclass
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from adapters.tools import (
    RegistryToolExecutor,
    ToolContext,
    ToolDefinitionError,
    ToolRegistry,
)
from ports import HandOff, HangUp, ToolCall, ToolResult, TransferCall


def bank_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    async def lock_card(
        last_four: Annotated[str, Field(pattern=r"^\d{4}$")],
        reason: Literal["lost", "stolen", "fraud"] = "lost",
    ) -> dict[str, str]:
        """Lock the caller's card so it can no longer be used.

        Args:
            last_four: Last four digits of the card number.
            reason: Why the card is locked.
        """
        return {"card": last_four, "status": "locked", "reason": reason}

    @registry.tool(name="history", timeout_ms=1000)
    def recent_transactions(limit: int = 3, since: dt.date | None = None) -> list[int]:
        """Recent card transactions, newest first.

        Args:
            limit: How many to return.
            since: Only transactions on or after this date.
        """
        return list(range(limit))

    return registry


def test_schema_is_derived_from_the_typed_signature_and_docstring() -> None:
    spec = bank_registry().specs(["lock_card"])[0]
    assert spec.description == "Lock the caller's card so it can no longer be used."
    assert spec.parameters == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "last_four": {
                "type": "string",
                "pattern": r"^\d{4}$",
                "description": "Last four digits of the card number.",
            },
            "reason": {
                "type": "string",
                "enum": ["lost", "stolen", "fraud"],
                "default": "lost",
                "description": "Why the card is locked.",
            },
        },
        "required": ["last_four"],
    }


def test_optional_and_date_parameters_appear_in_the_schema() -> None:
    spec = bank_registry().specs(["history"])[0]
    props = spec.parameters["properties"]
    assert isinstance(props, dict)
    assert props["limit"] == {"type": "integer", "default": 3, "description": "How many to return."}
    assert {"type": "string", "format": "date"} in props["since"]["anyOf"]  # type: ignore[index]
    assert "required" not in spec.parameters


def test_a_tool_context_parameter_is_injected_not_described() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def whoami(ctx: ToolContext) -> str:
        """Say the call id."""
        return ctx.call_id

    assert registry.specs(["whoami"])[0].parameters["properties"] == {}


async def test_a_tool_context_parameter_receives_the_call_id() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def whoami(ctx: ToolContext) -> str:
        """Say the call id."""
        return f"{ctx.call_id}/{ctx.tool_call_id}"

    result = await RegistryToolExecutor(registry).run(
        ToolCall("t1", "whoami"), timeout_ms=100, call_id="call-9"
    )
    assert result == ToolResult("t1", "call-9/t1")


@pytest.mark.parametrize(
    ("name", "problem"),
    [("bad name", "must match"), ("handoff_to_fraud", "reserved"), ("x" * 65, "must match")],
)
def test_bad_tool_names_are_refused(name: str, problem: str) -> None:
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError, match=problem):
        registry.tool(name=name)(lambda: None)


def test_untyped_parameters_and_duplicates_are_refused() -> None:
    registry = ToolRegistry()

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ToolDefinitionError, match="'x' needs a type annotation"):
        registry.tool(untyped)

    def ok() -> None:
        """Nothing."""

    registry.tool(ok)
    with pytest.raises(ToolDefinitionError, match="registered twice"):
        registry.tool(ok)


def test_specs_of_unknown_tools_raise_key_error_naming_them() -> None:
    with pytest.raises(KeyError, match="nope"):
        bank_registry().specs(["lock_card", "nope"])


async def test_valid_arguments_run_the_tool_and_return_json() -> None:
    executor = RegistryToolExecutor(bank_registry())
    result = await executor.run(
        ToolCall("c1", "lock_card", {"last_four": "4242", "reason": "stolen"}), timeout_ms=500
    )
    assert not result.is_error
    assert result.content == '{"card":"4242","status":"locked","reason":"stolen"}'


async def test_plain_functions_run_in_a_worker_thread() -> None:
    seen: list[str] = []
    registry = ToolRegistry()

    @registry.tool
    def where() -> str:
        """Name the thread."""
        seen.append(threading.current_thread().name)
        return "ok"

    assert (
        await RegistryToolExecutor(registry).run(ToolCall("c", "where"), timeout_ms=500)
    ).content == "ok"
    assert seen != [threading.main_thread().name]


async def test_bad_arguments_become_an_error_result_naming_the_field() -> None:
    executor = RegistryToolExecutor(bank_registry())
    result = await executor.run(
        ToolCall("c1", "lock_card", {"last_four": "42", "colour": "red"}), timeout_ms=500
    )
    assert result.is_error
    assert "last_four" in result.content
    assert "colour" in result.content


async def test_unknown_tool_becomes_an_error_result() -> None:
    result = await RegistryToolExecutor(bank_registry()).run(ToolCall("c", "nope"), timeout_ms=50)
    assert result.is_error
    assert "unknown tool" in result.content


async def test_an_exception_becomes_an_error_result_without_its_message() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def explode() -> None:
        """Fail."""
        raise RuntimeError("database password=hunter2 refused")

    result = await RegistryToolExecutor(registry).run(ToolCall("c", "explode"), timeout_ms=50)
    assert result == ToolResult("c", "explode failed: RuntimeError", is_error=True)


async def test_a_slow_async_tool_is_cancelled_at_the_smaller_deadline() -> None:
    cancelled = asyncio.Event()
    registry = ToolRegistry()

    @registry.tool(timeout_ms=20)
    async def slow() -> str:
        """Take long."""
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    result = await RegistryToolExecutor(registry).run(ToolCall("c", "slow"), timeout_ms=5000)
    assert result.is_error
    assert "20 ms" in result.content
    assert cancelled.is_set()


@dataclass
class Balance:
    account: str
    amount: float


class Card(BaseModel):
    last_four: str


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (
            HandOff("fraud", "stolen card"),
            ToolResult(
                "c", '{"action":"handoff","agent":"fraud"}', action=HandOff("fraud", "stolen card")
            ),
        ),
        (
            TransferCall("+14255550100"),
            ToolResult(
                "c",
                '{"action":"transfer","target":"+14255550100"}',
                action=TransferCall("+14255550100"),
            ),
        ),
        (HangUp(), ToolResult("c", '{"action":"hang_up"}', action=HangUp())),
        (({"ok": True}, HangUp("done")), ToolResult("c", '{"ok":true}', action=HangUp("done"))),
        (ToolResult("other", "x", is_error=True), ToolResult("c", "x", is_error=True)),
        (Balance("checking", 12.5), ToolResult("c", '{"account":"checking","amount":12.5}')),
        (Card(last_four="1234"), ToolResult("c", '{"last_four":"1234"}')),
        ("plain words", ToolResult("c", "plain words")),
        (dt.date(2026, 11, 20), ToolResult("c", '"2026-11-20"')),
    ],
)
async def test_return_values_become_results_and_actions(
    returned: object, expected: ToolResult
) -> None:
    registry = ToolRegistry()

    @registry.tool
    async def give() -> object:
        """Return the value."""
        return returned

    assert (
        await RegistryToolExecutor(registry).run(ToolCall("c", "give"), timeout_ms=100) == expected
    )


async def test_an_unserialisable_return_value_is_an_error_result() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def odd() -> object:
        """Return something JSON cannot hold."""
        return object()

    result = await RegistryToolExecutor(registry).run(ToolCall("c", "odd"), timeout_ms=100)
    assert result.is_error


def test_each_registry_is_independent() -> None:
    first, second = ToolRegistry(), bank_registry()
    assert first.names() == frozenset()
    assert second.names() == {"lock_card", "history"}
