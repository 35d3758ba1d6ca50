"""Issue 12 item 2: escalation must not depend on the provider that is failing.

With text-to-speech failing on every request (a wrong Speech key), the escalation line
(transfer or goodbye) cannot be spoken; the call must still transfer or hang up, after a
bounded number of syntheses and transcript lines. On the code before the fix the line was
queued again after every failure (about 57 syntheses a second, without end).
"""

from __future__ import annotations

from domain.agents import AgentSpec
from domain.policies import ConversationPolicy, FailurePolicy
from domain.runtime import RuntimeConfig
from ports import AuthenticationError, UpdateKind

from .harness import Rig, make_rig

GREETING = "Hello, how can I help?"
TRANSFER_LINE = "Please hold while I transfer your call."


def failing_rig(*, transfer_target: str | None, telephony: bool = False, **kwargs: object) -> Rig:
    policy = ConversationPolicy(
        failures=FailurePolicy(max_consecutive_failures=1, transfer_target=transfer_target)
    )
    return make_rig(
        agents=[AgentSpec(name="concierge", greeting=GREETING)],
        policy=policy,
        telephony=telephony,
        **kwargs,  # type: ignore[arg-type]
    )


def break_speech(rig: Rig) -> None:
    # Every synthesis from now on fails before its first chunk.
    rig.tts.fail_with = AuthenticationError("wrong key")


async def test_a_transfer_line_that_cannot_be_spoken_still_transfers_the_call():
    rig = failing_rig(
        transfer_target="+15550199",
        heard=["what is my balance"],
        turns=["never in time"],
        llm_ttft_ms=60_000,
        config=RuntimeConfig(first_token_timeout_ms=1000),
    )
    await rig.start()
    await rig.silence(2000)
    break_speech(rig)
    await rig.say(600)
    await rig.silence(3000)
    summary = await rig.result()
    assert summary.end_reason == "transfer"
    # The model timed out (escalation), the transfer line failed once and was not queued again.
    assert rig.spoken() == [GREETING, TRANSFER_LINE]
    transfers = [u for u in rig.observer.updates if u.kind is UpdateKind.TRANSFER]
    assert [u.data for u in transfers] == [{"target": "+15550199", "reason": "escalation"}]
    assert len(await rig.messages()) < 10


async def test_a_call_whose_speech_synthesis_always_fails_is_transferred_without_speaking():
    rig = failing_rig(transfer_target="+15550199")
    break_speech(rig)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "transfer"
    assert rig.spoken() == [GREETING]
    assert len(await rig.messages()) < 10


async def test_a_call_whose_speech_synthesis_always_fails_is_hung_up():
    rig = failing_rig(transfer_target=None, telephony=True)
    break_speech(rig)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "hang_up"
    assert rig.spoken() == [GREETING]
    assert [op.name for op in rig.call_control.operations] == ["hang_up"]


async def test_a_failed_escalation_transfer_hangs_up_instead_of_retrying():
    rig = failing_rig(transfer_target="+15550199", telephony=True)
    rig.call_control.transfer_succeeds = False
    break_speech(rig)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "hang_up"
    assert rig.spoken() == [GREETING, "Thank you for calling. Goodbye."]
    assert [op.name for op in rig.call_control.operations] == ["transfer", "hang_up"]
    assert len(await rig.messages()) < 12
