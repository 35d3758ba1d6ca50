"""Where calls meet the recorder: the driving port, the transcript log and the media stream.

* :class:`RecordedCallHandler` wraps the core's ``CallHandler``: it tells the recorder when a
  call starts and ends, tees the call's observer (tool calls) and, when the call may be
  recorded, its media stream.
* :class:`RecordingTranscriptLog` wraps the ``TranscriptLog`` the runtime writes every line to
  (messages, tool results, handoffs, events, per-turn latency records) and gives each line to
  the recorder too. The runtime itself is unchanged: its existing transcript hook is the
  record's source.
* :class:`RecordedMediaStream` passes the call's audio to Parley's own recording: the caller's
  frames as they arrive, the agent's as they are sent, and barge-in's ``stop_audio``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from domain.records.config import RecordingWhen
from domain.records.recorder import CallRecorder, LiveRecord
from ports import (
    AudioFrame,
    AudioReceived,
    CallEvent,
    CallEventKind,
    CallHandler,
    CallObserver,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    MediaEvent,
    MediaStream,
    StreamStarted,
    TranscriptEntry,
    TranscriptLog,
    UpdateKind,
)


class RecordingTranscriptLog:
    """A ``TranscriptLog`` that also gives every line to the recorder.

    Args:
        inner: The transcript log (memory or Redis).
        recorder: The recorder.
    """

    def __init__(self, inner: TranscriptLog, recorder: CallRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    @property
    def inner(self) -> TranscriptLog:
        """The wrapped log."""
        return self._inner

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Queue the line for the record (never waits), then append it to the log.

        Raises:
            StoreUnavailableError: The log failed (the record has the line anyway).
        """
        self._recorder.line(call_id, entry)
        await self._inner.append(call_id, entry)

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """The log's entries.

        Raises:
            StoreUnavailableError: The log failed.
        """
        return await self._inner.read(call_id)


class _Observer:
    def __init__(self, recorder: CallRecorder, call_id: str, inner: CallObserver | None) -> None:
        self._recorder = recorder
        self._call_id = call_id
        self._inner = inner

    def on_update(self, update: ConversationUpdate) -> None:
        try:
            if update.kind is UpdateKind.TOOL_CALL:
                data = update.data
                self._recorder.tool_call(
                    self._call_id,
                    update.text,
                    {"call_id": data.get("id", ""), "arguments": data.get("arguments", {})},
                    update.agent,
                )
        finally:
            if self._inner is not None:
                self._inner.on_update(update)


class RecordedMediaStream:
    """A ``MediaStream`` whose audio also goes to the call's own recording, when there is one.

    Per frame this adds one attribute read and, while recording, one buffer append; the
    recording itself (:class:`~ports.call_audio.CallAudioRecording`) never blocks.

    Args:
        inner: The call's media stream.
        recorder: The recorder.
        live: The call's live record (its ``audio`` is the recording, once open).
    """

    def __init__(self, inner: MediaStream, recorder: CallRecorder, live: LiveRecord) -> None:
        self._inner = inner
        self._recorder = recorder
        self._live = live
        # The runtime paces frames itself through ``try_send_audio`` when the stream offers
        # it (a capability, looked up with getattr): offer it exactly when the inner does.
        inner_try: Callable[[AudioFrame], bool] | None = getattr(inner, "try_send_audio", None)
        self.try_send_audio: Callable[[AudioFrame], bool] | None = None
        if inner_try is not None:

            def try_send_audio(frame: AudioFrame) -> bool:
                if not inner_try(frame):
                    return False
                audio = live.audio
                if audio is not None:
                    audio.agent(frame)
                return True

            self.try_send_audio = try_send_audio

    async def events(self) -> AsyncIterator[MediaEvent]:
        """The inner stream's events; caller audio is copied to the recording."""
        source = self._inner.events()
        live = self._live
        try:
            async for event in source:
                if type(event) is AudioReceived:
                    audio = live.audio
                    if audio is not None:
                        audio.caller(event.frame)
                elif type(event) is StreamStarted:
                    self._recorder.media_started(live, event.format)
                yield event
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    async def send_audio(self, frame: AudioFrame) -> None:
        """Copy the frame to the recording, then send it.

        Raises:
            StreamClosedError: The stream is closed.
        """
        audio = self._live.audio
        if audio is not None:
            audio.agent(frame)
        await self._inner.send_audio(frame)

    async def stop_audio(self) -> None:
        """The far end drops its queued audio: so does the recording."""
        audio = self._live.audio
        if audio is not None:
            audio.agent_cleared()
        await self._inner.stop_audio()

    async def close(self) -> None:
        """Close the inner stream."""
        await self._inner.close()


class _WatchedEvents:
    """The call's telephony events, passed through; an accepted transfer is noted."""

    def __init__(self, inner: AsyncIterator[CallEvent], live: LiveRecord) -> None:
        self._inner = inner
        self._live = live

    def __aiter__(self) -> _WatchedEvents:
        return self

    async def __anext__(self) -> CallEvent:
        event = await anext(self._inner)
        if event.kind is CallEventKind.TRANSFER_ACCEPTED:
            self._live.transfer_accepted = True
        return event


class RecordedCallHandler:
    """The core's ``CallHandler``, with each call's record written as it goes.

    Args:
        inner: The core's handler.
        recorder: The process's recorder.
    """

    def __init__(self, inner: CallHandler, recorder: CallRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Record ``call`` while the inner handler runs it."""
        recorder = self._recorder
        live = recorder.begin(call.info)
        media = call.media
        if recorder.config.recording is not RecordingWhen.OFF:
            media = RecordedMediaStream(media, recorder, live)
        events = call.call_events
        observed = replace(
            call,
            media=media,
            observer=_Observer(recorder, call.info.call_id, call.observer),
            call_events=_WatchedEvents(events, live) if events is not None else None,
        )
        call_id = call.info.call_id
        try:
            summary = await self._inner.handle_call(observed)
        except asyncio.CancelledError:
            recorder.finish(live, CallSummary(call_id, "cancelled"))
            raise
        except Exception:
            recorder.finish(live, CallSummary(call_id, "error"))
            raise
        recorder.finish(live, summary)
        return summary
