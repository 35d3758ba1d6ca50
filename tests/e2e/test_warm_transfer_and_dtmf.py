"""Warm transfer and provider DTMF end to end through the ACS emulator (fake engines).

Warm transfer: the caller asks for a person, the agent's tool transfers, the caller is put on
hold, the desk is invited with the custom calling context, the summary is played to it, the
caller is taken off hold and the agent leaves; when the desk does not answer the caller is taken
off hold and told so, and the conversation goes on. DTMF: an agent with ``dtmf_recognize``
starts Call Automation ``recognize``; the keys come back in ``RecognizeCompleted`` and are the
caller's turn (the same keys on the media stream are not counted twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.acs_emulator.scenario import CallerTurn
from adapters.memory import ScriptedLanguageModel, ScriptedTurn
from bootstrap.call_command import open_stack, place_call, read_transcript
from ports import PCM16_16K, ChatMessage, ModelOptions, Role, ToolCall, ToolSpec

from .outbound_support import agents_dir, fakes, noise, settings_for, until

pytestmark = pytest.mark.e2e

DESK = "4:+14255550100"
CALLER = "4:+14255550100"


def transferring() -> ScriptedLanguageModel:
    def respond(
        messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
    ) -> ScriptedTurn:
        if messages[-1].role is Role.USER:
            return ScriptedTurn(tool_calls=(ToolCall("t1", "transfer_to_human", {}),))
        return ScriptedTurn("One moment please.")

    return ScriptedLanguageModel(responder=respond)


@pytest.mark.parametrize("answers", [True, False], ids=["answered", "unanswered"])
async def test_a_warm_transfer_consults_the_desk_with_a_summary(
    tmp_path: Path, answers: bool
) -> None:
    folder = agents_dir(
        tmp_path, warm_transfer="true", transfer_unanswered="Nobody is free right now, sorry."
    )
    settings = settings_for(folder)
    configure = fakes(["I want to talk to a person"], transferring())
    async with open_stack(settings, configure=configure, warm_decoders=0) as stack:
        stack.emulator.telephony.invitees[DESK] = answers
        report = await place_call(
            stack,
            [CallerTurn("person", noise(PCM16_16K, 900))],
            reply_timeout_s=8.0,
            settle_s=0.8,
            transcript_wait_s=3.0,
        )
        call = stack.emulator.calls[report.result.call_connection_id]
        record = stack.emulator.telephony.records[call.call_connection_id]
        if answers:
            await until(lambda: call.ended.is_set())
        else:
            await until(lambda: ("unhold", CALLER) in record.operations)
    operations = record.operations
    assert operations[:2] == [("hold", CALLER), ("add", DESK)]
    sip = record.contexts[0]["sipHeaders"]
    assert sip["X-MS-Custom-parley-call-id"] == call.call_connection_id
    assert sip["X-MS-Custom-parley-reason"] == "tool"
    events = [e["data"] for e in report.transcript if e["kind"] == "event"]
    said = report.agent_texts
    if answers:
        assert operations[2:] == [("unhold", CALLER)]
        assert call.hang_ups == ["delete"]  # the agent left; the caller stays with the desk
        assert {"event": "consult", "target": "+14255550100", "answered": True} in events
        assert any("They said: I want to talk to a person" in text for text in said)
    else:
        assert ("unhold", CALLER) in operations and call.hang_ups[:1] != ["delete"]
        assert "Nobody is free right now, sorry." in said


async def test_keys_collected_by_recognize_are_the_callers_turn(tmp_path: Path) -> None:
    settings = settings_for(agents_dir(tmp_path, dtmf_recognize="true"))
    async with open_stack(settings, configure=fakes([]), warm_decoders=0) as stack:
        call = await stack.emulator.offer_call(stack.events_url)
        await until(lambda: call.media is not None)
        call.media.start_line()
        await until(lambda: call.pending_recognize is not None, 15)
        options = call.pending_recognize["recognizeOptions"]
        assert options["dtmfOptions"]["stopTones"] == ["pound"]
        await stack.emulator.press(call, "4242#")
        turns: list[str] = []
        for _ in range(100):
            entries = await read_transcript(stack, call.call_connection_id)
            turns = [e["text"] for e in entries if e["kind"] == "user"]
            if turns:
                break
            await asyncio.sleep(0.1)
        await stack.emulator.hang_up(call)
    assert turns == ["4242"]  # once, from RecognizeCompleted, though the media stream had them too
    assert ("RecognizeCompleted", 200) in call.callbacks
