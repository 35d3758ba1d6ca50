"""Contract of ports.MediaStream: inbound order, outbound audio and stop-audio, closing.

The suite is :class:`MediaStreamContract`; subclass it in a test module and define the
``media_case`` fixture returning a :class:`~bootstrap.contract.cases.MediaStreamCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import tone_frames
from bootstrap.contract.cases import MediaStreamCase
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import (
    AudioFrame,
    AudioReceived,
    DtmfReceived,
    MediaEvent,
    StreamClosed,
    StreamClosedError,
    StreamStarted,
)


async def read_all(case: MediaStreamCase, timeout_s: float = 2.0) -> list[MediaEvent]:
    async with asyncio.timeout(timeout_s):
        return [event async for event in case.stream.events()]


class MediaStreamContract(ContractSuite):
    """The promises of :class:`ports.MediaStream`; needs a ``media_case`` fixture."""

    port = "media_stream"
    protocol = "ports.MediaStream"
    case_fixture = "media_case"

    async def test_inbound_events_arrive_in_order_between_start_and_close(
        self,
        media_case: MediaStreamCase,
    ) -> None:
        frames = tone_frames(media_case.fmt, 100)
        far_end = media_case.far_end
        await far_end.send_audio(frames[0])
        await far_end.send_audio(frames[1])
        await far_end.send_dtmf("5")
        for frame in frames[2:]:
            await far_end.send_audio(frame)
        await far_end.hang_up()
        events = await read_all(media_case)

        assert isinstance(events[0], StreamStarted)
        assert events[0].format == media_case.fmt
        assert events[0].call_id == media_case.call_id
        assert isinstance(events[-1], StreamClosed)
        middle = events[1:-1]
        audio = [e.frame.data for e in middle if isinstance(e, AudioReceived)]
        assert audio == [media_case.wire(f.data) for f in frames]
        assert all(e.frame.format == media_case.fmt for e in middle if isinstance(e, AudioReceived))
        assert [e.digit for e in middle if isinstance(e, DtmfReceived)] == ["5"]
        dtmf_at = next(i for i, e in enumerate(middle) if isinstance(e, DtmfReceived))
        assert sum(isinstance(e, AudioReceived) for e in middle[:dtmf_at]) == 2

    async def test_outbound_audio_and_stop_audio_reach_the_far_end_in_order(
        self,
        media_case: MediaStreamCase,
    ) -> None:
        frames = tone_frames(media_case.fmt, 60)
        stream = media_case.stream
        for frame in frames[:2]:
            await stream.send_audio(frame)
        # Audio still queued on our side may be dropped by stop_audio (the port promise): stop
        # once the far end has the first two frames, so the order on the wire is what is checked.
        await media_case.far_end.received(2)
        await stream.stop_audio()
        await stream.send_audio(frames[2])
        received = await media_case.far_end.received(4)
        assert received[2] == "stop_audio"
        sent = [r for r in received if isinstance(r, AudioFrame)]
        assert [f.data for f in sent] == [media_case.wire(f.data) for f in frames]
        assert all(f.format == media_case.fmt for f in sent)
        assert all(f.duration_ms == 20.0 for f in sent)
        await stream.close()

    async def test_closing_ends_events_and_refuses_audio(self, media_case: MediaStreamCase) -> None:
        stream = media_case.stream
        async with no_task_leak():
            reader = asyncio.create_task(read_all(media_case))
            await asyncio.sleep(0.01)
            await stream.close()
            await stream.close()
            events = await reader
        assert isinstance(events[0], StreamStarted)
        assert isinstance(events[-1], StreamClosed)
        with pytest.raises(StreamClosedError):
            await stream.send_audio(tone_frames(media_case.fmt, 20)[0])

    async def test_remote_hang_up_refuses_further_audio(self, media_case: MediaStreamCase) -> None:
        await media_case.far_end.hang_up()
        events = await read_all(media_case)
        assert isinstance(events[-1], StreamClosed)
        with pytest.raises(StreamClosedError):
            await media_case.stream.send_audio(tone_frames(media_case.fmt, 20)[0])
        await media_case.stream.close()

    async def test_cancelling_a_reader_leaks_no_task(self, media_case: MediaStreamCase) -> None:
        async with no_task_leak():
            reader = asyncio.create_task(read_all(media_case, timeout_s=30))
            await asyncio.sleep(0.01)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            await media_case.stream.close()
