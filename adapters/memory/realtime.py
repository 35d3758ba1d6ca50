"""A deterministic in-memory realtime model: the ``RealtimeModel`` port without a service.

Rules (what a test can count on):

* Turn detection ``parley``: nothing is detected; ``commit_input()`` makes the audio pushed so
  far a user item, transcribed as the next line of ``transcripts``. Any other mode: a frame
  louder than RMS 500 is speech; the first one gives ``SpeechStarted`` (its offset), 200 ms
  of quieter frames (``silence_duration_ms`` when set) give ``SpeechStopped`` and the item's
  transcript (one partial with its first word, then the final).
* ``create_response`` answers with the next :class:`FakeReply` of ``replies``, else
  ``responder(history, config)`` (a reply, or an awaitable of one), else echoes the last
  user text (``"You said: <text>."``); a line request speaks the line. A response streams
  its transcript in words and its audio as a tone (``ms_per_char`` per character) in 100 ms
  chunks, then its function calls, then ``ResponseFinished`` with usage; every chunk waits
  ``chunk_delay_s`` (0: yields to the loop). A responder that raises a port error ends the
  response ``failed`` with the error's code.
* ``cancel_response`` stops the response in progress (``ResponseFinished`` status
  ``cancelled``); ``truncate``, ``send_tool_output``, ``add_messages``, ``update``,
  ``commit_input`` and ``clear_input`` are recorded in ``requests`` in call order.
* ``truncate(item, audio_end_ms)`` also cuts that reply in ``history`` to the words whose
  audio ended by ``audio_end_ms`` (``ms_per_char`` per character): like the services, which
  drop the transcript the caller did not hear, the fake then remembers only what was played.
* Faults: ``open_error`` is raised by entering; ``drop()`` forgets the conversation and yields
  ``SessionReconnected``; ``error(exc)`` yields a ``RealtimeError``; ``lose(exc)`` makes
  ``events()`` raise ``exc``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

from adapters.memory.signals import frame_rms
from ports import (
    AudioFormat,
    AudioFrame,
    ChatMessage,
    InvalidAudioError,
    ParleyError,
    ProviderError,
    Role,
    StreamClosedError,
    ToolCall,
)
from ports.realtime import (
    FunctionCall,
    InputTranscript,
    RealtimeConfig,
    RealtimeError,
    RealtimeEvent,
    ResponseAudio,
    ResponseFinished,
    ResponseRequest,
    ResponseStarted,
    ResponseTranscript,
    SessionReconnected,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
)

_LOUD = 500.0


@dataclass(frozen=True, slots=True)
class FakeReply:
    """One scripted response.

    Attributes:
        text: What the response says.
        tool_calls: Function calls it makes (after its text).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(slots=True)
class _Speech:
    item_id: str
    start_ms: float
    quiet_ms: float = 0.0
    pcm: bytearray = field(default_factory=bytearray)


class FakeRealtimeSession:
    """One fake session; see the module docstring for its rules."""

    def __init__(self, model: FakeRealtimeModel, config: RealtimeConfig, fmt: AudioFormat) -> None:
        self._model = model
        self.config = config
        self.format = fmt
        self.requests: list[tuple[str, Any]] = []
        self.history: list[ChatMessage] = []
        self.audio_ms = 0.0
        self.closed = False
        self._queue: asyncio.Queue[RealtimeEvent | BaseException | None] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._speech: _Speech | None = None
        self._buffer = bytearray()
        self._responding: asyncio.Task[None] | None = None
        self._reconnects = 0
        self._items: dict[str, int] = {}

    async def __aenter__(self) -> Self:
        if self._model.open_error is not None:
            raise self._model.open_error
        self.requests.append(("update", self.config))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def dropped_events(self) -> int:
        """Always 0: the fake makes no malformed events."""
        return 0

    @property
    def responding(self) -> asyncio.Task[None] | None:
        """The task producing the response in progress, or None (for drivers of the clock)."""
        task = self._responding
        return task if task is not None and not task.done() else None

    # caller audio ------------------------------------------------------------------

    def push_audio(self, frame: AudioFrame) -> None:
        """Take one frame (see the module rules for detection)."""
        if self.closed:
            raise StreamClosedError("realtime session closed")
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"expected {self.format}, got {frame.format}")
        at = self.audio_ms
        self.audio_ms += frame.duration_ms
        self._buffer += frame.data
        if self.config.turn_detection.mode is TurnDetection.PARLEY:
            return
        loud = frame_rms(frame) > _LOUD
        speech = self._speech
        if speech is None:
            if loud:
                self._speech = _Speech(self._id("item"), at)
                self._emit(SpeechStarted(at, self._speech.item_id))
            return
        speech.pcm += frame.data
        speech.quiet_ms = 0.0 if loud else speech.quiet_ms + frame.duration_ms
        silence = self.config.turn_detection.silence_duration_ms or 200
        if speech.quiet_ms >= silence:
            self._speech = None
            self._emit(SpeechStopped(self.audio_ms - speech.quiet_ms, speech.item_id))
            self._transcribe(speech.item_id)

    def _transcribe(self, item_id: str) -> None:
        self._buffer.clear()
        text = self._model.next_transcript()
        if text:
            self._emit(InputTranscript(item_id, text.split()[0], False))
        self._emit(InputTranscript(item_id, text, True))
        self.history.append(ChatMessage(Role.USER, text))

    # events ------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        """Events in order; raises what ``lose`` gave."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _emit(self, event: RealtimeEvent) -> None:
        self._queue.put_nowait(event)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    # requests ----------------------------------------------------------------------

    async def update(self, config: RealtimeConfig) -> None:
        """Record the new configuration."""
        self._check()
        self.config = config
        self.requests.append(("update", config))

    async def create_response(self, request: ResponseRequest) -> None:
        """Answer (see the module rules); one response at a time."""
        self._check()
        self.requests.append(("create_response", request))
        if self._responding is not None and not self._responding.done():
            self.error(ProviderError("conversation already has an active response"))
            return
        line = request.line
        self._responding = asyncio.get_running_loop().create_task(self._respond(line))

    async def _respond(self, line: str | None) -> None:
        rid = self._id("resp")
        item = self._id("item")
        model = self._model
        self._emit(ResponseStarted(rid))
        status = "completed"
        error_code: str | None = None
        reply = FakeReply()
        try:
            if line is not None:
                reply = FakeReply(line)
            else:
                answer = model.reply(list(self.history), self.config)
                reply = await answer if inspect.isawaitable(answer) else answer
            words = reply.text.split()
            pcm = _tone(self.format, len(reply.text) * model.ms_per_char)
            chunk = self.format.frame_bytes(100)
            pieces = max(1, math.ceil(len(pcm) / chunk))
            for index in range(max(len(words), pieces)):
                if index < len(words):
                    text = words[index] if index == 0 else " " + words[index]
                    self._emit(ResponseTranscript(rid, item, text))
                if index < pieces and pcm:
                    data = pcm[index * chunk : (index + 1) * chunk]
                    self._emit(ResponseAudio(rid, item, AudioFrame(data, self.format)))
                await asyncio.sleep(model.chunk_delay_s)
            for call in reply.tool_calls:
                self._emit(FunctionCall(rid, call))
            if reply.text or reply.tool_calls:
                self._items[item] = len(self.history)
                self.history.append(ChatMessage(Role.ASSISTANT, reply.text, reply.tool_calls))
        except asyncio.CancelledError:
            status = "cancelled"
        except ParleyError as exc:
            # As a service reports its model's failure: the response ends ``failed``.
            status, error_code = "failed", exc.code
        self._emit(ResponseFinished(rid, status, 10, len(reply.text), error_code))

    async def cancel_response(self) -> None:
        """Stop the response in progress."""
        self._check()
        self.requests.append(("cancel_response", None))
        if self._responding is not None and not self._responding.done():
            self._responding.cancel()

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Record the truncation; the item's text keeps the words played by ``audio_end_ms``."""
        self._check()
        self.requests.append(("truncate", (item_id, audio_end_ms)))
        index = self._items.get(item_id)
        if index is None or index >= len(self.history):
            return
        message = self.history[index]
        heard_chars = audio_end_ms / self._model.ms_per_char if self._model.ms_per_char else 0
        kept: list[str] = []
        end = 0
        for word in message.text.split():
            end += len(word) + (1 if kept else 0)
            if end > heard_chars:
                break
            kept.append(word)
        self.history[index] = replace(message, text=" ".join(kept), interrupted=True)

    async def send_tool_output(self, call_id: str, output: str) -> None:
        """Record the function call output."""
        self._check()
        self.requests.append(("tool_output", (call_id, output)))
        self.history.append(ChatMessage(Role.TOOL, output, tool_call_id=call_id))

    async def add_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Record and remember the items."""
        self._check()
        self.requests.append(("add_messages", tuple(messages)))
        self.history.extend(messages)

    async def commit_input(self) -> None:
        """The audio pushed so far becomes a user item with the next transcript."""
        self._check()
        self.requests.append(("commit_input", None))
        self._transcribe(self._id("item"))

    async def clear_input(self) -> None:
        """Drop the pushed audio."""
        self._check()
        self.requests.append(("clear_input", None))
        self._buffer.clear()

    async def aclose(self) -> None:
        """Close; ``events()`` ends."""
        if self.closed:
            return
        self.closed = True
        if self._responding is not None:
            self._responding.cancel()
        self._queue.put_nowait(None)

    def _check(self) -> None:
        if self.closed:
            raise StreamClosedError("realtime session closed")

    # faults ------------------------------------------------------------------------

    def drop(self, reason: str = "session_expired") -> None:
        """The service closed the session; the fake reconnects, forgetting everything."""
        self._reconnects += 1
        if self._responding is not None:
            self._responding.cancel()
        self.history.clear()
        self._items.clear()
        self.audio_ms = 0.0
        self._speech = None
        self._emit(SessionReconnected(self._reconnects, reason))

    def error(self, exc: ProviderError, *, fatal: bool = False) -> None:
        """Yield an error event."""
        self._emit(RealtimeError(exc, fatal))

    def lose(self, exc: BaseException) -> None:
        """Make ``events()`` raise ``exc`` (the session cannot go on)."""
        self._queue.put_nowait(exc)


class FakeRealtimeModel:
    """Deterministic realtime model (``PARLEY_REALTIME=fake``).

    Args:
        transcripts: What the caller's successive items are transcribed as.
        replies: Scripted responses, in order.
        responder: Makes a reply (or an awaitable of one) from the session's history and
            configuration once ``replies`` is used up.
        ms_per_char: Audio per character of a reply, ms.
        chunk_delay_s: Wait between two chunks of a response.
    """

    name = "fake"

    def __init__(
        self,
        transcripts: Sequence[str] = (),
        replies: Sequence[FakeReply] = (),
        *,
        responder: Callable[[Sequence[ChatMessage], RealtimeConfig], Any] | None = None,
        ms_per_char: float = 40.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self._transcripts = list(transcripts)
        self._replies = list(replies)
        self._responder = responder
        self.ms_per_char = ms_per_char
        self.chunk_delay_s = chunk_delay_s
        self.open_error: BaseException | None = None
        self.sessions: list[FakeRealtimeSession] = []

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> FakeRealtimeSession:
        """A new fake session (kept in ``sessions``)."""
        session = FakeRealtimeSession(self, config, fmt)
        self.sessions.append(session)
        return session

    def add_transcript(self, text: str) -> None:
        """Append ``text`` to the transcripts (``""``: a sound with no words in it)."""
        self._transcripts.append(text)

    def next_transcript(self) -> str:
        """The next scripted transcript ("hello" once they are used up)."""
        return self._transcripts.pop(0) if self._transcripts else "hello"

    def reply(self, history: Sequence[ChatMessage], config: RealtimeConfig) -> Any:
        """The next scripted reply, the responder's (maybe awaitable), or an echo."""
        if self._replies:
            return self._replies.pop(0)
        if self._responder is not None:
            return self._responder(history, config)
        said = next((m.text for m in reversed(history) if m.role is Role.USER), "")
        return FakeReply(f"You said: {said}." if said else "I am listening.")


def _tone(fmt: AudioFormat, duration_ms: float) -> bytes:
    """A 300 Hz tone of ``duration_ms`` in ``fmt`` (PCM16), whole frames of 20 ms."""
    frames = max(0, math.ceil(duration_ms / 20))
    n = fmt.sample_rate_hz * 20 // 1000 * frames
    rate = fmt.sample_rate_hz
    samples = (int(3000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(n))
    return struct.pack(f"<{n}h", *samples)


__all__ = ["FakeRealtimeModel", "FakeRealtimeSession", "FakeReply"]
