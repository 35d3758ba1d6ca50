"""The runtime's side of warm transfer, provider DTMF and voicemail, on the fakes.

A consult holds the caller, invites the person with the calling context, speaks the summary
(the model's, written while the phone rings), then takes the caller off hold and leaves; a
consult nobody answers takes the caller off hold again. ``CollectDtmf`` starts the provider's
recognize for the caller. On an outbound call the beep detector runs only while the
conversation waits for a beep.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.memory import FunctionTool, FunctionToolExecutor, ScriptedTurn
from adapters.memory.signals import frame_rms
from domain.agents import AgentSpec
from domain.runtime import RuntimeConfig
from ports import AudioFormat, AudioFrame, CallEvent, CallEventKind, ToolCall, ToolSpec
from ports import TransferCall as TransferAction

from .harness import Rig, make_rig

DESK = "+15550199"
GREETING = "Hello, how can I help?"


def transfer_tools(rig_clock: object) -> FunctionToolExecutor:
    spec = ToolSpec("transfer", "Transfer to a person.", {"type": "object", "properties": {}})
    return FunctionToolExecutor(
        [FunctionTool(spec, lambda: TransferAction(DESK, "asked"))],
        clock=rig_clock,  # type: ignore[arg-type]
    )


def consult_rig(**agent: object) -> Rig:
    rig = make_rig(
        agents=[
            AgentSpec(
                name="concierge",
                greeting=GREETING,
                tools=("transfer",),
                warm_transfer=True,
                transfer_line="One moment.",
                **agent,  # type: ignore[arg-type]
            )
        ],
        heard=["a person please"],
        turns=[
            ScriptedTurn(tool_calls=(ToolCall("t1", "transfer", {}),)),
            # A transfer ends the turn: the next request is the consult's summary.
            ScriptedTurn("Ana wants to close her account."),
        ],
        telephony=True,
        # The summary's deadline is a safety net on the loop's time: far beyond a loaded run.
        config=RuntimeConfig(first_token_timeout_ms=120_000),
    )
    rig.tools = transfer_tools(rig.clock)
    rig.runtime._deps = replace(rig.runtime._deps, tools=rig.tools)  # noqa: SLF001 (test wiring)
    return rig


def operations(rig: Rig) -> list[str]:
    return [op.name for op in rig.call_control.operations]


async def test_an_answered_consult_hears_the_model_summary_then_the_caller_is_connected() -> None:
    rig = consult_rig(transfer_summary="model")
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.until(lambda: rig.done, max_ms=30_000)
    summary = await rig.result()
    assert summary.end_reason == "transfer"
    assert operations(rig) == ["hold", "add_participant", "unhold", "hang_up"]
    hold, add, unhold, leave = rig.call_control.operations
    assert hold.args["target"].value == "+15550100"  # type: ignore[union-attr]
    assert add.args["custom_context"]["parley-reason"] == "tool"  # type: ignore[index]
    assert leave.args == {"for_everyone": False}
    assert "Ana wants to close her account." in rig.spoken()


async def test_a_consult_nobody_answers_brings_the_caller_back() -> None:
    rig = consult_rig(transfer_unanswered="Nobody is free, sorry.")
    rig.call_control.consult_answers = False
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.until(lambda: "Nobody is free, sorry." in rig.spoken(), max_ms=30_000)
    assert operations(rig) == ["hold", "add_participant", "unhold"]
    assert not rig.done
    await rig.hang_up_remote()


async def test_an_agent_with_provider_dtmf_starts_recognize_and_takes_its_keys() -> None:
    rig = make_rig(
        agents=[AgentSpec(name="concierge", greeting=GREETING, dtmf_recognize=True)],
        turns=["Thanks."],
        telephony=True,
    )
    await rig.start()
    await rig.until(lambda: "start_dtmf_recognition" in operations(rig))
    request = rig.call_control.operations[-1]
    assert request.args["target"].value == "+15550100"  # type: ignore[union-attr]
    assert request.args["stop_tones"] == ("#",)
    rig.call_control.emit(
        CallEvent(CallEventKind.RECOGNIZE_COMPLETED, rig.info.call_id, tones=("1", "2", "3"))
    )
    await rig.until(lambda: bool(rig.llm.requests))
    assert rig.llm.requests[-1].messages[-1].text == "123"
    await rig.hang_up_remote()


class LoudBeeps:
    """A beep detector that hears a beep in any loud frame (the real one is tested apart)."""

    def __init__(self) -> None:
        self.made = 0
        self.frames = 0

    def __call__(self, fmt: AudioFormat) -> LoudBeeps:
        self.made += 1
        return self

    def process(self, frame: AudioFrame) -> bool:
        self.frames += 1
        return frame_rms(frame) > 1000


async def test_an_outbound_machine_gets_the_message_at_its_beep_and_the_call_ends() -> None:
    beeps = LoudBeeps()
    rig = make_rig(
        agents=[
            AgentSpec(name="concierge", greeting=GREETING, voicemail_message="Please call back.")
        ],
        heard=["please leave a message after the tone"],
        telephony=True,
        beep_detectors=beeps,
    )
    rig.info = replace(rig.info, direction="outbound")
    await rig.start()
    await rig.silence(1000)
    assert beeps.made == 0 and rig.spoken() == []
    await rig.say(1200)  # the greeting: a machine by its words
    await rig.silence(600)
    assert beeps.made == 1
    await rig.say(400)  # the beep
    summary = await rig.result()
    assert rig.spoken() == ["Please call back."]
    assert summary.end_reason == "voicemail"
    assert operations(rig) == ["hang_up"]
