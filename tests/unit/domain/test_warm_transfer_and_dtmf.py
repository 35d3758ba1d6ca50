"""Warm transfer (consult, summary, connect; or back to the caller) and provider DTMF."""

from __future__ import annotations

from domain.commands import (
    CollectDtmf,
    CompleteTransfer,
    Speak,
    StartConsult,
    StartResponse,
    TransferCall,
)
from domain.events import (
    ConsultResult,
    DtmfCollected,
    DtmfDigit,
    ToolCallsRequested,
    ToolCompleted,
)
from ports import ToolCall, ToolResult
from ports import TransferCall as TransferAction

from .harness import Call, bank_graph

DESK = "+14255550100"


def ask_for_a_person(call: Call) -> None:
    call.greet()
    call.user_says("I want to talk to a person")
    rid = call.response_id()
    call.send(ToolCallsRequested(call.tick(), rid, (ToolCall("t1", "transfer", {}),)))
    call.send(
        ToolCompleted(call.tick(), rid, ToolResult("t1", "ok", action=TransferAction(DESK, "ask")))
    )
    call.model_says("Let me get a colleague.")
    call.play()


def test_a_warm_transfer_consults_with_a_summary_and_the_callers_words() -> None:
    call = Call(bank_graph(warm_transfer=True))
    ask_for_a_person(call)
    consults = call.of(StartConsult)
    assert len(consults) == 1 and call.of(TransferCall) == []
    consult = consults[0]
    assert consult.target == DESK  # type: ignore[attr-defined]
    assert "I want to talk to a person" in consult.summary  # type: ignore[attr-defined]
    context = dict(consult.context)  # type: ignore[attr-defined]
    assert context["parley-call-id"] == "call-1" and context["parley-agent"] == "concierge"
    assert consult.messages == ()  # type: ignore[attr-defined]  # template summary


def test_an_answered_consult_hears_the_summary_then_the_caller_is_connected() -> None:
    call = Call(bank_graph(warm_transfer=True))
    ask_for_a_person(call)
    before = len(call.of(Speak))
    call.send(ConsultResult(call.tick(), True, "Ana wants to close her account."))
    summary = call.of(Speak)[before:]
    assert [s.text for s in summary] == ["Ana wants to close her account."]  # type: ignore[attr-defined]
    assert not summary[0].interruptible  # type: ignore[attr-defined]
    assert call.of(CompleteTransfer) == []
    call.play()
    assert call.of(CompleteTransfer) == [CompleteTransfer()]
    assert call.state.status.end_reason == "transferred"


def test_an_unanswered_consult_brings_the_caller_back_with_an_apology() -> None:
    call = Call(bank_graph(warm_transfer=True, transfer_unanswered="Nobody is free, sorry."))
    ask_for_a_person(call)
    before = len(call.of(Speak))
    call.send(ConsultResult(call.tick(), False))
    assert [s.text for s in call.of(Speak)[before:]] == ["Nobody is free, sorry."]  # type: ignore[attr-defined]
    assert not call.state.status.transferring and not call.state.status.consulting
    call.play()
    call.user_says("ok what is my balance")
    assert call.of(StartResponse)[-1].messages[-1].text == "ok what is my balance"  # type: ignore[attr-defined]


def test_a_model_summary_sends_the_conversation_with_the_consult() -> None:
    call = Call(bank_graph(warm_transfer=True, transfer_summary="model"))
    ask_for_a_person(call)
    consult = call.of(StartConsult)[0]
    assert any(m.text == "I want to talk to a person" for m in consult.messages)  # type: ignore[attr-defined]


def test_a_blind_transfer_carries_the_calling_context() -> None:
    call = Call(bank_graph())
    ask_for_a_person(call)
    transfer = call.of(TransferCall)[0]
    assert dict(transfer.context)["parley-reason"] == "tool"  # type: ignore[attr-defined]


def test_an_agent_with_provider_dtmf_collects_keys_while_it_listens() -> None:
    call = Call(bank_graph(dtmf_recognize=True))
    call.greet()
    assert len(call.of(CollectDtmf)) == 1
    assert call.state.user.dtmf_recognizing
    # In-band tones are ignored while the provider collects: they would count twice.
    assert call.send(DtmfDigit(call.tick(), "9")).noop_reason
    for digit in "1234":
        call.send(DtmfDigit(call.tick(), digit, source="recognize"))
    assert call.of(StartResponse) == []
    call.send(DtmfCollected(call.tick()))
    assert call.last_start().messages[-1].text == "1234"
    assert not call.state.user.dtmf_recognizing


def test_a_collection_without_keys_just_ends() -> None:
    call = Call(bank_graph(dtmf_recognize=True))
    call.greet()
    step = call.send(DtmfCollected(call.tick()))
    assert step.noop_reason is None and not call.state.user.dtmf_recognizing
    assert call.send(DtmfCollected(call.tick())).noop_reason  # nothing pending any more
