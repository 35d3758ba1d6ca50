"""Twilio playback progress from ``mark`` echoes: the bookkeeping and the mark-clocked sender."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from starlette.websockets import WebSocketState

from adapters.twilio.media_codec import encode_mark_echo
from adapters.twilio.media_stream import TWILIO_PCM_FORMAT, TwilioMediaStream
from adapters.twilio.playback import PlaybackMarks
from ports import AudioFrame

FRAME = AudioFrame(bytes(320), TWILIO_PCM_FORMAT)  # 20 ms


# Bookkeeping ------------------------------------------------------------------------------


def test_every_frame_gets_a_mark_named_after_the_audio_sent_before_it() -> None:
    marks = PlaybackMarks()
    assert [marks.sent(20.0) for _ in range(3)] == ["0:20", "0:40", "0:60"]
    every_third = PlaybackMarks(mark_every=3)
    assert [every_third.sent(20.0) for _ in range(6)] == [None, None, "0:60", None, None, "0:120"]


def test_an_echo_moves_the_played_position_and_a_clear_keeps_the_last_one_as_heard() -> None:
    marks = PlaybackMarks()
    names = [marks.sent(20.0) for _ in range(5)]
    assert marks.echo(names[0]) and marks.echo(names[1])
    assert (marks.played_ms, marks.unplayed_ms) == (40.0, 60.0)
    assert marks.clear() == 40.0 and marks.heard_at_clear_ms == 40.0
    # Twilio echoes the cleared marks after the clear: they were not played.
    assert not any(marks.echo(name) for name in names[2:] if name is not None)
    assert (marks.sent_ms, marks.played_ms, marks.generation) == (0.0, 0.0, 1)
    assert marks.sent(20.0) == "1:20"


@pytest.mark.parametrize(
    "name", ["", "0", "0:", "x:20", "0:-20", "0:2e3", "1:20", "0:20:1", "0:\u0663"]
)
def test_names_that_are_not_marks_of_this_generation_change_nothing(name: str) -> None:
    marks = PlaybackMarks()
    marks.sent(20.0)
    assert not marks.echo(name) and marks.played_ms == 0.0


def test_mark_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="mark_every"):
        PlaybackMarks(0)


class MarksAgainstTwilio(RuleBasedStateMachine):
    """Random sends, echoes (in Twilio's order, late, or garbled) and clears.

    The model is Twilio's side: the marks it holds, each with its generation and position;
    an echo of a held mark of the current generation is playback reaching it; a clear echoes
    every held mark at once, after the clear went out.
    """

    def __init__(self) -> None:
        super().__init__()
        self.every = 1
        self.marks = PlaybackMarks(self.every)
        self.pending: list[tuple[int, float, str]] = []  # (generation, position, name)
        self.late: list[str] = []  # echoes still on their way when a clear went out
        self.model_played = 0.0
        self.model_sent = 0.0
        self.heard: list[float] = []

    @rule(frames=st.integers(1, 5), ms=st.sampled_from([10.0, 20.0, 40.0]))
    def send(self, frames: int, ms: float) -> None:
        for _ in range(frames):
            name = self.marks.sent(ms)
            self.model_sent += ms
            if name is not None:
                self.pending.append((self.marks.generation, self.model_sent, name))

    @rule(count=st.integers(1, 3))
    def play(self, count: int) -> None:
        """Playout reaches the next marks: Twilio echoes them in order."""
        for _ in range(min(count, len(self.pending))):
            generation, position, name = self.pending.pop(0)
            moved = self.marks.echo(name)
            assert moved == (generation == self.marks.generation and position > self.model_played)
            if generation == self.marks.generation:
                self.model_played = max(self.model_played, position)

    @rule()
    def clear(self) -> None:
        self.heard.append(self.marks.clear())
        assert self.heard[-1] == self.model_played  # the last echo before the clear
        self.late.extend(name for _, _, name in self.pending)  # echoed after the clear
        self.pending.clear()
        self.model_played = self.model_sent = 0.0

    @rule()
    def cleared_marks_come_back(self) -> None:
        for name in self.late:
            assert not self.marks.echo(name)
        self.late.clear()

    @rule(name=st.text(max_size=8))
    def not_a_mark_of_ours(self, name: str) -> None:
        if re.fullmatch(r"[0-9]+:[0-9]+", name, re.ASCII) is None:
            assert not self.marks.echo(name)

    @invariant()
    def positions_agree_with_twilio(self) -> None:
        assert 0.0 <= self.marks.played_ms <= self.marks.sent_ms
        assert (self.marks.sent_ms, self.marks.played_ms) == (self.model_sent, self.model_played)


MarksAgainstTwilio.TestCase.settings = settings(max_examples=60, stateful_step_count=30)
test_marks_against_twilio = MarksAgainstTwilio.TestCase


# The sender -------------------------------------------------------------------------------


class FakeSocket:
    """A Starlette WebSocket stand-in: records what is sent, replays what Twilio sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.application_state = WebSocketState.CONNECTED

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def close(self, code: int = 1000) -> None:
        self.application_state = WebSocketState.DISCONNECTED

    def echo(self, name: str) -> None:
        message = encode_mark_echo("MZ1", name, sequence_number=1)
        self.inbox.put_nowait({"type": "websocket.receive", "text": message})

    def marks(self) -> list[str]:
        return [m["mark"]["name"] for m in self.sent if m["event"] == "mark"]


async def _drain(stream: TwilioMediaStream) -> None:
    async for _event in stream.events():
        pass


async def _open(mark_wait_s: float = 30.0) -> tuple[FakeSocket, TwilioMediaStream, Any]:
    socket = FakeSocket()
    stream = TwilioMediaStream(socket, mark_wait_s=mark_wait_s)  # type: ignore[arg-type]
    stream.stream_sid = "MZ1"
    return socket, stream, asyncio.create_task(_drain(stream))


async def _close(socket: FakeSocket, reader: Any) -> None:
    socket.inbox.put_nowait({"type": "websocket.disconnect"})
    await reader


async def test_a_send_returns_once_twilio_has_played_the_frame_before_it() -> None:
    socket, stream, reader = await _open()
    await stream.send_audio(FRAME)  # nothing before it: counts at once
    second = asyncio.create_task(stream.send_audio(FRAME))
    await asyncio.sleep(0.05)
    assert not second.done()  # sent, with its mark, but the first frame is still playing
    assert [m["event"] for m in socket.sent] == ["media", "mark", "media", "mark"]
    assert socket.marks() == ["0:20", "0:40"]
    socket.echo("0:20")
    await asyncio.wait_for(second, 5)
    assert (stream.marks.played_ms, stream.unplayed_ms, stream.mark_waits_expired) == (20, 20, 0)
    await _close(socket, reader)


async def test_a_clear_releases_the_waiting_send_and_the_cleared_echoes_do_not_count() -> None:
    socket, stream, reader = await _open()
    await stream.send_audio(FRAME)
    waiting = asyncio.create_task(stream.send_audio(FRAME))
    socket.echo("0:20")
    await asyncio.wait_for(waiting, 5)
    third = asyncio.create_task(stream.send_audio(FRAME))
    await asyncio.sleep(0.05)
    await stream.stop_audio()  # barge-in while the third frame waits
    await asyncio.wait_for(third, 5)
    assert socket.sent[-1] == {"event": "clear", "streamSid": "MZ1"}
    assert stream.marks.heard_at_clear_ms == 20.0  # the last echo before the clear
    for name in ("0:40", "0:60"):  # Twilio sends back the pending marks after the clear
        socket.echo(name)
    await stream.send_audio(FRAME)
    assert socket.marks()[-1] == "1:20"
    await asyncio.sleep(0.05)
    assert (stream.marks.played_ms, stream.marks_echoed) == (0.0, 1)
    await _close(socket, reader)


async def test_a_far_end_that_never_echoes_costs_one_wait_then_sends_go_on() -> None:
    socket, stream, reader = await _open(mark_wait_s=0.05)
    for _ in range(20):
        await stream.send_audio(FRAME)
    assert stream.mark_waits_expired == 1 and len(socket.marks()) == 20
    socket.echo("0:380")  # echoes come back: sends wait for playback again
    await asyncio.sleep(0.05)
    await stream.send_audio(FRAME)  # 420 sent, 380 played: over the bound, waits and expires
    assert stream.mark_waits_expired == 2
    await _close(socket, reader)


async def test_close_releases_a_waiting_send() -> None:
    socket, stream, reader = await _open()
    await stream.send_audio(FRAME)
    waiting = asyncio.create_task(stream.send_audio(FRAME))
    await asyncio.sleep(0.05)
    await stream.close()
    await asyncio.wait_for(waiting, 5)
    await _close(socket, reader)
