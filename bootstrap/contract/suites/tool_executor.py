"""Contract of ports.ToolExecutor: specs in order, results never exceptions, timeouts.

The suite is :class:`ToolExecutorContract`; subclass it in a test module and define the
``tools_case`` fixture returning a :class:`~bootstrap.contract.cases.ToolExecutorCase`.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bootstrap.contract.cases import ToolExecutorCase
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import ToolCall, ToolResult


async def run_with_timeout(case: ToolExecutorCase, call: ToolCall, timeout_ms: float) -> ToolResult:
    task = asyncio.create_task(case.executor.run(call, timeout_ms=timeout_ms))
    if case.advance is not None:
        await case.advance(timeout_ms + 1)
    async with asyncio.timeout(2):
        return await task


class ToolExecutorContract(ContractSuite):
    """The promises of :class:`ports.ToolExecutor`; needs a ``tools_case`` fixture."""

    port = "tool_executor"
    protocol = "ports.ToolExecutor"
    case_fixture = "tools_case"

    def test_names_and_specs_follow_the_registered_tools(
        self, tools_case: ToolExecutorCase
    ) -> None:
        executor = tools_case.executor
        assert {"echo", "boom", "slow", "whoami"} <= executor.names()
        specs = executor.specs(["slow", "echo"])
        assert [s.name for s in specs] == ["slow", "echo"]
        assert specs[1].parameters["type"] == "object"

    def test_specs_of_unknown_tools_raise_key_error_naming_them(
        self,
        tools_case: ToolExecutorCase,
    ) -> None:
        with pytest.raises(KeyError, match="no_such_tool"):
            tools_case.executor.specs(["echo", "no_such_tool"])

    async def test_a_tool_result_answers_its_call(self, tools_case: ToolExecutorCase) -> None:
        result = await tools_case.executor.run(
            ToolCall("call_7", "echo", {"text": "hi there"}), timeout_ms=1000
        )
        assert result.call_id == "call_7"
        assert not result.is_error
        assert json.loads(result.content) == {"echo": "hi there"}

    async def test_the_conversation_call_id_reaches_tools_that_ask(
        self,
        tools_case: ToolExecutorCase,
    ) -> None:
        result = await tools_case.executor.run(
            ToolCall("call_1", "whoami"), timeout_ms=1000, call_id="acs-call-42"
        )
        assert not result.is_error
        assert "acs-call-42" in result.content
        assert tools_case.probe.calls_with_context == ["acs-call-42"]

    async def test_a_tool_exception_becomes_an_error_result(
        self, tools_case: ToolExecutorCase
    ) -> None:
        result = await tools_case.executor.run(ToolCall("call_2", "boom"), timeout_ms=1000)
        assert (result.call_id, result.is_error) == ("call_2", True)
        # The failure is named for the model; its message may be kept out of it (the registry
        # executor logs it instead: a tool's exception text can hold internals).
        assert "RuntimeError" in result.content

    async def test_an_unknown_tool_becomes_an_error_result(
        self, tools_case: ToolExecutorCase
    ) -> None:
        result = await tools_case.executor.run(ToolCall("call_3", "no_such_tool"), timeout_ms=1000)
        assert (result.call_id, result.is_error) == ("call_3", True)
        assert "no_such_tool" in result.content

    async def test_bad_arguments_become_an_error_result(self, tools_case: ToolExecutorCase) -> None:
        result = await tools_case.executor.run(
            ToolCall("call_4", "echo", {"wrong": 1}), timeout_ms=1000
        )
        assert (result.call_id, result.is_error) == ("call_4", True)

    async def test_a_slow_tool_times_out_as_an_error_result_and_is_cancelled(
        self,
        tools_case: ToolExecutorCase,
    ) -> None:
        async with no_task_leak():
            result = await run_with_timeout(tools_case, ToolCall("call_5", "slow"), timeout_ms=50)
        assert (result.call_id, result.is_error) == ("call_5", True)
        assert tools_case.probe.slow_cancelled

    async def test_cancelling_the_caller_cancels_the_tool(
        self, tools_case: ToolExecutorCase
    ) -> None:
        async with no_task_leak():
            task = asyncio.create_task(
                tools_case.executor.run(ToolCall("call_6", "slow"), timeout_ms=60_000)
            )
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert tools_case.probe.slow_cancelled
