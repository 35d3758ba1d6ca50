"""The end-of-turn model in a whole call (issue 15): the runtime asks it at each pause with
the turn's audio, the conversation holds a final judged incomplete, failures only count."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import ManualClock, ScriptedEndOfTurnDetector
from domain.policies import ConversationPolicy, EndpointingPolicy
from domain.runtime import RuntimeConfig
from ports import MULAW_8K, PCM16_16K, ProviderUnavailableError, Role

from .harness import make_rig

POLICY = ConversationPolicy(
    endpointing=EndpointingPolicy(end_of_turn_grace_ms=0, max_endpointing_delay_ms=1500)
)
CONFIG = RuntimeConfig(speech_stop_ms=250)
DECODE_MS = 300  # the final comes a Whisper decode after the pause; the judgement before it


def user_texts(rig) -> list[str]:
    return [m.text for r in rig.llm.requests for m in r.messages[-1:] if m.role is Role.USER]


async def test_a_pause_judged_incomplete_waits_for_the_rest_of_the_turn():
    detector = ScriptedEndOfTurnDetector([0.1, 0.95])
    rig = make_rig(
        heard=["I would like to", "check my balance"],
        turns=["Your balance is forty two dollars."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=detector,
        final_delay_ms=DECODE_MS,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(900)  # a long pause, but shorter than the endpointing delay
    assert rig.llm.requests == []
    await rig.say(600)
    await rig.silence(1000)
    assert user_texts(rig) == ["I would like to check my balance"]
    assert len(detector.audio) == 2
    await rig.hang_up_remote()


async def test_a_pause_judged_incomplete_is_answered_after_the_endpointing_delay():
    rig = make_rig(
        heard=["lock my card"],
        turns=["Done."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=ScriptedEndOfTurnDetector([0.05]),
        final_delay_ms=DECODE_MS,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    waited = await rig.until(lambda: bool(rig.llm.requests))
    # The answer starts 1500 ms after the VAD reported the pause (250 ms into the silence).
    assert waited == pytest.approx(CONFIG.speech_stop_ms + 1500, abs=60)
    assert user_texts(rig) == ["lock my card"]
    await rig.hang_up_remote()


async def test_a_pause_judged_complete_is_answered_at_once():
    rig = make_rig(
        heard=["what is my balance"],
        turns=["Forty two dollars."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=ScriptedEndOfTurnDetector([0.9]),
        final_delay_ms=DECODE_MS,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    waited = await rig.until(lambda: bool(rig.llm.requests))
    assert waited <= CONFIG.speech_stop_ms + DECODE_MS + 60
    await rig.hang_up_remote()


async def test_a_final_that_comes_before_a_slow_judgement_waits_for_it():
    # A loaded machine: the judgement comes 500 ms after the pause, after the final (300).
    clock = ManualClock(settle_rounds=40)
    rig = make_rig(
        heard=["what is my balance"],
        turns=["Forty two dollars."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=ScriptedEndOfTurnDetector([0.9], delay_ms=500, clock=clock),
        final_delay_ms=DECODE_MS,
        clock=clock,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    waited = await rig.until(lambda: bool(rig.llm.requests))
    assert waited == pytest.approx(CONFIG.speech_stop_ms + 500, abs=60)  # not at the final
    assert user_texts(rig) == ["what is my balance"]
    await rig.hang_up_remote()


async def test_a_fragment_judged_incomplete_after_its_final_is_not_taken():
    clock = ManualClock(settle_rounds=40)
    rig = make_rig(
        heard=["Bye."],
        turns=["Goodbye."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=ScriptedEndOfTurnDetector([0.04], delay_ms=500, clock=clock),
        final_delay_ms=DECODE_MS,
        clock=clock,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(1000)  # the pause is 750 ms old: short of the 1500 ms endpointing delay
    assert rig.llm.requests == []
    await rig.hang_up_remote()


async def test_the_model_hears_the_turn_in_the_calls_format_ending_at_the_pause():
    detector = ScriptedEndOfTurnDetector()
    rig = make_rig(
        heard=["hello"],
        turns=["Hi."],
        config=CONFIG,
        fmt=MULAW_8K,
        end_of_turn=detector,
        final_delay_ms=DECODE_MS,
    )
    await rig.start()
    await rig.silence(4000)
    await rig.say(1000)
    await rig.silence(600)
    [audio] = detector.audio
    assert audio.format == MULAW_8K
    # The speech, the silence before the pause was reported and a short pre-roll: not the
    # four seconds of silence before the turn.
    assert 1000 + 250 <= audio.duration_ms <= 1000 + 250 + 300 + 80
    await rig.hang_up_remote()


async def test_a_failing_model_only_counts_and_the_turn_is_answered():
    rig = make_rig(
        heard=["what is my balance"],
        turns=["Forty two dollars."],
        policy=POLICY,
        config=CONFIG,
        end_of_turn=ScriptedEndOfTurnDetector(
            fail_with=ProviderUnavailableError("model missing", port="end_of_turn")
        ),
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(600)
    assert user_texts(rig) == ["what is my balance"]
    assert ("end_of_turn", "unavailable") in rig.metrics.provider_errors
    summary = await rig.hang_up_remote()
    assert summary.end_reason == "remote_closed"


async def test_without_a_model_nothing_is_held():
    rig = make_rig(heard=["hello"], turns=["Hi."], policy=POLICY, config=CONFIG, fmt=PCM16_16K)
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(400)
    assert user_texts(rig) == ["hello"]
    await rig.hang_up_remote()


async def test_the_ring_keeps_exactly_the_latest_window_in_order_when_it_wraps():
    from adapters.memory import ManualClock, RecordingMetrics
    from domain.runtime.end_of_turn import EndOfTurnProbe
    from domain.runtime.tasks import TaskOwner

    detector = ScriptedEndOfTurnDetector(window_ms=1000.0)
    fed = []
    tasks = TaskOwner("call-1")
    probe = EndOfTurnProbe(
        detector, PCM16_16K, clock=ManualClock(), tasks=tasks, metrics=RecordingMetrics(),
        feed=fed.append, timeout_ms=1000.0, call_id="call-1",
    )  # fmt: skip
    probe.speech_started(0.0)
    for i in range(137):  # 2.74 s of 20 ms frames, each filled with its own index
        probe.push(bytes([i % 256, 0]) * 320)
    probe.speech_stopped(2740.0)
    for _ in range(5):
        await asyncio.sleep(0)
    [audio] = detector.audio
    assert audio.duration_ms == 1000.0
    samples = audio.data[::2]
    expected = b"".join(bytes([i % 256]) * 320 for i in range(87, 137))
    assert samples == expected
    assert fed and fed[0].speech_stopped_ms == 2740.0
    await tasks.shutdown(1.0)
