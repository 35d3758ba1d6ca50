"""Outbound frames through the process pacer, through a task, and past a far end not reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from adapters.memory import FakeMediaStream
from domain import commands as cmds
from domain import events as ev
from domain.runtime import RuntimeConfig
from ports import AudioFrame, InboundCall, MediaEvent, Voice

from .harness import make_rig
from .stub_conversation import StubConversation

LONG = " ".join(["word"] * 60)


def speak_on_start(text: str = LONG):
    def react(event):
        if isinstance(event, ev.CallStarted):
            return [cmds.Speak("s1", text, voice=Voice())]
        return []

    return react


class AsyncOnlyStream:
    """A media stream with no ``try_send_audio`` (as the browser stream): a sender task paces."""

    def __init__(self, inner: FakeMediaStream) -> None:
        self.inner = inner

    def events(self) -> AsyncIterator[MediaEvent]:
        return self.inner.events()

    async def send_audio(self, frame: AudioFrame) -> None:
        await self.inner.send_audio(frame)

    async def stop_audio(self) -> None:
        await self.inner.stop_audio()

    async def close(self) -> None:
        await self.inner.close()


def pacer_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "pacer" and not t.done()]


async def test_a_stream_without_a_synchronous_send_keeps_the_same_absolute_schedule():
    rig = make_rig(
        conversation=StubConversation(speak_on_start()), config=RuntimeConfig(pacing_lead_ms=100)
    )
    call = InboundCall(rig.info, AsyncOnlyStream(rig.media), None, rig.observer)
    rig.task = asyncio.create_task(rig.runtime.handle_call(call))
    await rig.clock.settle()
    t0 = rig.clock.now_ms()
    await rig.silence(3000)
    times = [o.at_ms - t0 for o in rig.media.outbound if o.kind == "audio"]
    assert len(times) > 100
    assert times == [max(0.0, 20.0 * n - 100.0) for n in range(len(times))]
    assert pacer_tasks() == []  # paced by the call's own sender task
    await rig.hang_up_remote()


async def test_frames_a_far_end_does_not_take_wait_for_it_in_order_and_none_is_lost():
    rig = make_rig(
        conversation=StubConversation(speak_on_start()), config=RuntimeConfig(pacing_lead_ms=0)
    )
    await rig.start()
    await rig.silence(1000)
    before = len(rig.media.sent_frames)
    rig.media.block()
    await rig.silence(600)
    assert len(rig.media.sent_frames) == before  # nothing written while blocked
    rig.media.block(False)
    await rig.silence(20_000)
    frames = rig.media.sent_frames
    assert [f.timestamp_ms for f in frames] == [20.0 * n for n in range(len(frames))]
    assert sum(f.duration_ms for f in frames) >= rig.tts.duration_ms(LONG) - 20
    assert rig.metrics.counts.get("frame_dropped", 0) == 0
    await rig.hang_up_remote()


async def test_calls_of_one_runtime_share_one_pacer():
    rig = make_rig(conversation=StubConversation(speak_on_start()))
    second = FakeMediaStream(rig.fmt, "call-2", clock=rig.clock)
    await rig.start()
    other = asyncio.create_task(
        rig.runtime.handle_call(InboundCall(replace(rig.info, call_id="call-2"), second))
    )
    await rig.silence(500)
    assert len(pacer_tasks()) == 1
    assert rig.media.sent_frames and second.sent_frames
    second.remote_close()
    await rig.hang_up_remote()
    await asyncio.wait_for(other, 5)
    await rig.clock.settle()
    assert pacer_tasks() == []
