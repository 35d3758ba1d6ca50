"""One inbound ACS call, scripted from the caller's side, measured on the wire.

The emulator offers the call through Event Grid, the agent answers, ACS (the emulator) connects
the media socket and streams the caller's line continuously, as ACS does (silent frames between
utterances). Each caller turn is spoken once the agent has finished talking; the reply's first
audio frame on the wire gives the turn's latency as the caller hears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.acs_emulator.server import AcsEmulator
from ports import AudioFormat

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """One thing the caller says.

    Attributes:
        name: Label (file name) for reports.
        pcm: PCM16LE mono in the call's format.
        barge_in_after_ms: Speak once the agent has been talking for this long without a
            break, instead of waiting for it to finish: a barge-in.
    """

    name: str
    pcm: bytes
    barge_in_after_ms: float | None = None


@dataclass(slots=True)
class TurnResult:
    """What happened around one caller turn; times are monotonic seconds.

    Attributes:
        name: The turn's label.
        caller_ms: Length of the caller audio, ms.
        spoke_at: First frame of the turn on the wire.
        finished_at: Last frame of the turn on the wire.
        reply_at: First agent frame after the turn ended, if any.
        stop_audio_at: First ``StopAudio`` after the turn started, if any.
        reply_audio_ms: Agent audio received for the reply, ms.
        played_before_bytes: Agent audio played out (the whole call so far) when the turn
            began, bytes; for a turn that waited for the agent to finish, the reply to it
            starts playing from here.
    """

    name: str
    caller_ms: float
    spoke_at: float = 0.0
    finished_at: float = 0.0
    reply_at: float | None = None
    stop_audio_at: float | None = None
    reply_audio_ms: float = 0.0
    played_before_bytes: int = 0

    @property
    def latency_ms(self) -> float | None:
        """End of caller audio to first reply frame on the wire, ms (includes endpointing)."""
        if self.reply_at is None:
            return None
        return (self.reply_at - self.finished_at) * 1000.0


@dataclass(slots=True)
class CallResult:
    """The whole call as the emulated caller saw it.

    Attributes:
        call_connection_id: ACS call connection id (the server's call id).
        format: The negotiated audio format.
        turns: Per-turn results, in order.
        greeting_ms: Media connected to first agent audio, ms (None without a greeting).
        agent_audio: What the caller heard (PCM16LE in ``format``), silence where none played.
        agent_bytes_received: All agent audio received (played or not), bytes.
        stop_audio_count: ``StopAudio`` messages received.
        bytes_discarded: Agent audio dropped unplayed by ``StopAudio``.
        callbacks: Callback names posted and the status each got.
        ended_by: ``"caller"`` or ``"agent"`` (hang-up, transfer) or ``"error"``.
        transfers: Transfer targets the agent requested.
        error: Why the call failed, if it did.
        duration_s: Offer to end, seconds.
        agent_audio_started_at: Monotonic seconds at which ``agent_audio`` begins.
        stop_audio_times: When each ``StopAudio`` arrived, monotonic seconds.
    """

    call_connection_id: str = ""
    format: AudioFormat | None = None
    turns: list[TurnResult] = field(default_factory=list)
    greeting_ms: float | None = None
    agent_audio: bytes = b""
    agent_bytes_received: int = 0
    stop_audio_count: int = 0
    bytes_discarded: int = 0
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    ended_by: str = "caller"
    transfers: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    agent_audio_started_at: float = 0.0
    stop_audio_times: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the call connected and ran without error."""
        return self.error is None


class Line(Protocol):
    """A media client as the scenario drives it (the ACS and the Twilio emulators' clients)."""

    stats: Any
    playout: Any
    closed: asyncio.Event
    last_frame_time: float | None

    def start_line(self, speed: float = 1.0) -> None:
        """Stream the caller's line continuously."""
        ...

    async def speak(self, pcm: bytes) -> tuple[float, float]:
        """Queue caller speech; its first and last frame times on the wire."""
        ...


class LineCall(Protocol):
    """An emulated call as the scenario reads it."""

    ended: asyncio.Event
    callbacks: list[tuple[str, int]]
    transfers: list[str]

    @property
    def format(self) -> AudioFormat:
        """The caller line's format."""
        ...


async def _wait_for_agent_audio(
    media: Line, call: LineCall, after_frames: int, timeout_s: float
) -> float | None:
    deadline = time.monotonic() + timeout_s
    while media.stats.frames_received <= after_frames:
        if call.ended.is_set() or media.closed.is_set() or time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.005)
    return media.last_frame_time


async def _wait_until_quiet(media: Line, call: LineCall, settle_s: float, timeout_s: float) -> None:
    """Until the agent has played everything and sent nothing for ``settle_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if call.ended.is_set() or media.closed.is_set():
            return
        last = media.last_frame_time or 0.0
        if not media.playout.is_playing() and time.monotonic() - last >= settle_s:
            return
        await asyncio.sleep(0.02)


async def _wait_while_agent_talks(
    media: Line, call: LineCall, talking_s: float, timeout_s: float
) -> None:
    """Until the agent has been audible without a break for ``talking_s`` (barge-in point)."""
    deadline = time.monotonic() + timeout_s
    since: float | None = None
    while time.monotonic() < deadline and not call.ended.is_set():
        now = time.monotonic()
        if media.playout.is_playing():
            since = since or now
            if now - since >= talking_s:
                return
        else:
            since = None
        await asyncio.sleep(0.01)


async def converse(
    call: LineCall,
    media: Line,
    turns: Sequence[CallerTurn],
    result: CallResult,
    *,
    hang_up: Callable[[], Awaitable[None]],
    speed: float = 1.0,
    greeting_timeout_s: float = 10.0,
    reply_timeout_s: float = 20.0,
    settle_s: float = 0.8,
    gap_ms: float = 400.0,
    linger_s: float = 0.0,
    say: Callable[[str], None] = lambda _line: None,
) -> None:
    """Speak ``turns`` on a connected call's line and fill ``result`` from the wire.

    Shared by every emulator whose media client has this line's shape (ACS, Twilio): the line
    streams continuously, each turn waits for the agent to finish (or barges in), and the
    agent's replies are timed on the wire. Arguments as in :func:`run_inbound_call`;
    ``hang_up`` is the caller hanging up.
    """
    media.start_line(speed)
    connected = time.monotonic()
    first = await _wait_for_agent_audio(media, call, 0, greeting_timeout_s)
    if first is not None:
        result.greeting_ms = (first - connected) * 1000.0
        say(f"agent greeting after {result.greeting_ms:.0f} ms")
    for index, turn in enumerate(turns):
        if call.ended.is_set():
            break
        if turn.barge_in_after_ms is None:
            await _wait_until_quiet(media, call, settle_s, reply_timeout_s)
            await asyncio.sleep(gap_ms / 1000.0 / max(speed, 1e-3))
        else:
            await _wait_while_agent_talks(
                media, call, turn.barge_in_after_ms / 1000.0, reply_timeout_s
            )
        outcome = TurnResult(turn.name, call.format.duration_ms(len(turn.pcm)))
        media.playout.buffered_ms()  # advances playout to now
        outcome.played_before_bytes = media.playout.played_bytes
        stops_before = len(media.stats.stop_audio_times)
        say(f"caller turn {index + 1}: {turn.name} ({outcome.caller_ms / 1000:.1f} s)")
        outcome.spoke_at, outcome.finished_at = await media.speak(turn.pcm)
        frames_before = media.stats.frames_received
        bytes_before = media.stats.bytes_received
        reply = await _wait_for_agent_audio(media, call, frames_before, reply_timeout_s)
        outcome.reply_at = reply
        if reply is not None:
            say(f"  agent replied after {outcome.latency_ms:.0f} ms")
            next_barges_in = (
                index + 1 < len(turns) and turns[index + 1].barge_in_after_ms is not None
            )
            if not next_barges_in:
                await _wait_until_quiet(media, call, settle_s, reply_timeout_s)
        outcome.reply_audio_ms = call.format.duration_ms(media.stats.bytes_received - bytes_before)
        stops = media.stats.stop_audio_times[stops_before:]
        outcome.stop_audio_at = stops[0] if stops else None
        result.turns.append(outcome)
    if not call.ended.is_set():
        await _wait_until_quiet(media, call, settle_s, reply_timeout_s)
    if linger_s > 0 and not call.ended.is_set():
        await asyncio.sleep(linger_s)
        await _wait_until_quiet(media, call, settle_s, reply_timeout_s)
    if media.closed.is_set() and not call.ended.is_set():
        # The agent side ended the stream (a transfer in progress): the caller stays on.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.ended.wait(), reply_timeout_s)
    if call.ended.is_set():
        result.ended_by = "agent"
    else:
        await hang_up()
        say("caller hung up")
    result.agent_audio = media.playout.recording()
    result.agent_audio_started_at = media.playout.started_at
    result.stop_audio_times = list(media.stats.stop_audio_times)
    result.agent_bytes_received = media.stats.bytes_received
    result.stop_audio_count = len(media.stats.stop_audio_times)
    result.bytes_discarded = media.stats.bytes_discarded
    result.callbacks = list(call.callbacks)
    result.transfers = list(call.transfers)


async def run_inbound_call(
    emulator: AcsEmulator,
    events_url: str,
    turns: Sequence[CallerTurn],
    *,
    speed: float = 1.0,
    greeting_timeout_s: float = 10.0,
    reply_timeout_s: float = 20.0,
    settle_s: float = 0.8,
    gap_ms: float = 400.0,
    validate_subscription: bool = True,
    linger_s: float = 0.0,
    caller: str = "+14255550100",
    progress: Callable[[str], None] | None = None,
) -> CallResult:
    """Run one inbound call through the emulator against the agent at ``events_url``.

    Args:
        emulator: A started emulator the agent's ``CallControl`` points at.
        events_url: The agent's Event Grid webhook (``http://.../api/acs/events``).
        turns: What the caller says, in order.
        speed: Caller line speed factor (1.0 real time). Agent audio always plays at real time.
        greeting_timeout_s: Longest wait for the agent's first audio.
        reply_timeout_s: Longest wait for a reply to finish.
        settle_s: Agent silence that counts as "finished talking", seconds.
        gap_ms: Caller silence before each turn once the agent is quiet, ms.
        validate_subscription: Run the Event Grid validation handshake first.
        linger_s: Keep the line open this long after the last reply before hanging up (slow
            recognisers may still deliver a final).
        caller: Caller phone number.
        progress: Called with short status lines.

    Returns:
        The call as the caller saw it; ``error`` says why when it failed. Never raises for
        agent-side failures.
    """
    say = progress or (lambda _line: None)
    result = CallResult()
    started = time.monotonic()
    try:
        if validate_subscription:
            await emulator.validate_subscription(events_url)
            say("Event Grid subscription validated")
        call = await emulator.offer_call(events_url, caller=caller)
        result.call_connection_id = call.call_connection_id
        result.format = call.format
        say(f"call {call.call_connection_id[:8]} answered ({call.format.sample_rate_hz} Hz)")
        await asyncio.wait_for(call.media_ready.wait(), timeout=10.0)
        media = call.media
        if media is None:
            raise RuntimeError(f"media streaming failed: {call.media_error}")
        await converse(
            call,
            media,
            turns,
            result,
            hang_up=lambda: emulator.hang_up(call),
            speed=speed,
            greeting_timeout_s=greeting_timeout_s,
            reply_timeout_s=reply_timeout_s,
            settle_s=settle_s,
            gap_ms=gap_ms,
            linger_s=linger_s,
            say=say,
        )
    except Exception as exc:
        logger.warning("emulated call failed: %s", exc)
        result.error = f"{type(exc).__name__}: {exc}"
        result.ended_by = "error"
    result.duration_s = time.monotonic() - started
    return result
