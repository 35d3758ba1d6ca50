"""Realtime audio out: the cascade's process pacer and schedule, and the audio played on a stop."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from adapters.memory import FakeMediaStream
from adapters.memory.realtime import FakeRealtimeModel, FakeReply
from domain.runtime import RuntimeConfig
from ports import InboundCall

from .harness import call_tasks
from .realtime_harness import make_realtime_rig, requests, session_of

LONG = (
    "Your balance is one thousand two hundred dollars and fifty cents. "
    "Your last payment arrived on Monday morning from your salary account."
)


def task_names() -> list[str]:
    return sorted(t.get_name().split(":")[-1] for t in call_tasks())


def played_ms(media: FakeMediaStream, since: float, until: float) -> float:
    """Audio a far end that plays each frame in real time from its arrival has played."""
    end = 0.0
    played = 0.0
    for out in media.outbound:
        if out.kind != "audio" or out.at_ms < since:
            continue
        start = max(out.at_ms, end)
        end = start + out.frame.duration_ms
        played += min(max(0.0, until - start), out.frame.duration_ms)
    return played


async def test_realtime_audio_is_sent_by_the_runtimes_one_pacer_for_every_call():
    model = FakeRealtimeModel()
    rig = make_realtime_rig(model)
    second = FakeMediaStream(rig.fmt, "call-2", clock=rig.clock)
    await rig.start()
    other = asyncio.create_task(
        rig.runtime.handle_call(InboundCall(replace(rig.info, call_id="call-2"), second))
    )
    await rig.silence(300)  # both greetings are playing
    names = task_names()
    assert names.count("pacer") == 1
    assert "sender" not in names and "realtime-sender" not in names
    assert rig.media.sent_frames and second.sent_frames
    second.remote_close()
    await rig.hang_up_remote()
    await asyncio.wait_for(other, 5)
    await rig.clock.settle()
    assert call_tasks() == set()


async def test_realtime_audio_leaves_on_the_cascades_absolute_schedule():
    model = FakeRealtimeModel()  # the whole greeting arrives at once
    rig = make_realtime_rig(model, config=RuntimeConfig(pacing_lead_ms=100))
    await rig.start()
    await rig.silence(2000)
    times = [o.at_ms for o in rig.media.outbound if o.kind == "audio"]
    assert len(times) > 30
    # The far end never holds more than the lead: frame n leaves at start + 20 n - 100.
    assert [t - times[0] for t in times] == [max(0.0, 20.0 * n - 100.0) for n in range(len(times))]
    await rig.hang_up_remote()


async def test_a_barge_in_truncates_at_exactly_the_audio_the_far_end_played():
    # Played is what a far end playing each frame from its arrival has heard by StopAudio:
    # the frames sent minus the pacing lead it still held, to the millisecond.
    model = FakeRealtimeModel(["tell me everything", "stop"], [FakeReply(LONG)])
    rig = make_realtime_rig(model, config=RuntimeConfig(pacing_lead_ms=160))
    await rig.start()
    await rig.silence(2000)
    greeting_end = rig.clock.now_ms()
    await rig.say(600)
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(1000)
    [(item_id, audio_end_ms)] = requests(session_of(model), "truncate")
    assert item_id.startswith("item_")
    stop_at = next(o.at_ms for o in rig.media.outbound if o.kind == "stop_audio")
    played = played_ms(rig.media, greeting_end, stop_at)
    sent = sum(
        o.frame.duration_ms
        for o in rig.media.outbound
        if o.kind == "audio" and greeting_end <= o.at_ms <= stop_at
    )
    assert sent - played >= 100  # the lead still held at the far end was not played
    assert audio_end_ms == int(played)
    await rig.hang_up_remote()
