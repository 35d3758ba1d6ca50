"""Contract of ports.LanguageModel: event order, tool call assembly, cancellation, errors.

The suite is :class:`LanguageModelContract`; subclass it in a test module and define the
``llm_case`` fixture returning a :class:`~bootstrap.contract.cases.LanguageModelCase`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from bootstrap.contract.cases import LanguageModelCase, ModelRequestSpec
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import (
    LanguageModel,
    ProviderError,
    ResponseDone,
    ResponseEvent,
    TextDelta,
    ToolCallsRequested,
    Usage,
)


async def respond(model: LanguageModel, request: ModelRequestSpec) -> list[ResponseEvent]:
    async with asyncio.timeout(30):
        return [e async for e in model.stream(request.messages, request.tools, request.options)]


def assert_well_ordered(events: list[ResponseEvent]) -> None:
    assert isinstance(events[-1], ResponseDone), "exactly one ResponseDone, last"
    assert sum(isinstance(e, ResponseDone) for e in events) == 1
    assert sum(isinstance(e, ToolCallsRequested) for e in events) <= 1
    assert sum(isinstance(e, Usage) for e in events) <= 1
    for event in events:
        if isinstance(event, Usage):
            assert event.prompt_tokens >= 0 and event.completion_tokens >= 0


class LanguageModelContract(ContractSuite):
    """The promises of :class:`ports.LanguageModel`; needs a ``llm_case`` fixture."""

    port = "llm"
    protocol = "ports.LanguageModel"
    case_fixture = "llm_case"

    async def test_text_streams_as_deltas_then_one_done(self, llm_case: LanguageModelCase) -> None:
        events = await respond(llm_case.model, llm_case.text_request)
        assert_well_ordered(events)
        deltas = [e for e in events if isinstance(e, TextDelta)]
        assert len(deltas) >= 2, "text is streamed in several deltas"
        assert "".join(d.text for d in deltas).strip()
        assert not any(isinstance(e, ToolCallsRequested) for e in events)
        done = events[-1]
        assert isinstance(done, ResponseDone) and done.finish_reason == "stop"

    async def test_tool_calls_arrive_assembled_in_one_event(
        self, llm_case: LanguageModelCase
    ) -> None:
        if llm_case.tool_request is None:
            pytest.skip("this model has no tool-calling request")
        events = await respond(llm_case.model, llm_case.tool_request)
        assert_well_ordered(events)
        requested = [e for e in events if isinstance(e, ToolCallsRequested)]
        assert len(requested) == 1
        calls = requested[0].calls
        assert calls and len({c.id for c in calls}) == len(calls)
        call = calls[0]
        assert call.id and call.name == llm_case.expected_tool
        assert isinstance(call.arguments, Mapping)
        for key, value in llm_case.expected_arguments.items():
            assert call.arguments.get(key) == value, call.arguments
        done = events[-1]
        assert isinstance(done, ResponseDone) and done.finish_reason == "tool_calls"

    async def test_closing_mid_stream_cancels_the_request(
        self, llm_case: LanguageModelCase
    ) -> None:
        request = llm_case.text_request
        async with no_task_leak():
            stream = llm_case.model.stream(request.messages, request.tools, request.options)
            async with asyncio.timeout(30):
                first = await anext(stream)
            assert isinstance(first, TextDelta | Usage)
            async with asyncio.timeout(1):
                await stream.aclose()
        # The adapter stays usable after a cancelled request.
        assert_well_ordered(await respond(llm_case.model, request))

    async def test_cancelling_a_task_waiting_for_the_first_token(
        self,
        llm_case: LanguageModelCase,
    ) -> None:
        if llm_case.stalling is None:
            pytest.skip("this implementation cannot be made to stall")
        request = llm_case.text_request
        stalling = llm_case.stalling

        async def consume() -> None:
            async for _ in stalling.stream(request.messages, request.tools, request.options):
                pass

        async with no_task_leak():
            task = asyncio.create_task(consume())
            await asyncio.sleep(0.05)
            assert not task.done()
            task.cancel()
            async with asyncio.timeout(1):
                with pytest.raises(asyncio.CancelledError):
                    await task

    async def test_provider_failures_raise_port_errors(self, llm_case: LanguageModelCase) -> None:
        assert llm_case.failures, "an implementation must show how it fails"
        request = llm_case.text_request
        for failing in llm_case.failures:
            assert issubclass(failing.expected, ProviderError), failing.label
            async with no_task_leak():
                with pytest.raises(failing.expected) as caught:
                    await respond(failing.adapter, request)
            assert caught.value.code == failing.expected.code, failing.label
