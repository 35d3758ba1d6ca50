"""The ``MediaStream`` port: one call's bidirectional audio channel.

For ACS this is the media streaming WebSocket (docs/wire-protocols.md, "ACS media
streaming WebSocket"); for the browser protocol, the browser socket; in tests, a memory fake.

Promise:
    * ``events()`` yields :data:`MediaEvent` values in arrival order: one :class:`StreamStarted`
      first (carrying the inbound format), then :class:`AudioReceived` and
      :class:`DtmfReceived`, and a last :class:`StreamClosed`, after which it ends.
      Malformed inbound messages are dropped and counted by the adapter, never raised.
    * ``send_audio(frame)`` queues one frame of outbound audio in the stream's format; the
      caller paces frames (the far end plays what it gets). After close it raises
      :class:`~ports.errors.StreamClosedError`.
    * ``stop_audio()`` tells the far end to discard the audio it has queued (ACS ``StopAudio``).
    * ``close()`` ends the stream; idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from ports.audio import AudioFormat, AudioFrame


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """The stream is up.

    Attributes:
        format: Format of inbound audio; outbound audio uses the same format.
        call_id: The call this stream belongs to (ACS call connection id).
    """

    format: AudioFormat
    call_id: str


@dataclass(frozen=True, slots=True)
class AudioReceived:
    """One inbound audio frame from the caller.

    Attributes:
        frame: The audio.
        participant: Raw id of the speaking participant, when the provider says.
        silent: True when the provider flagged the frame as silence.
    """

    frame: AudioFrame
    participant: str | None = None
    silent: bool = False


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A DTMF tone from the caller.

    Attributes:
        digit: One of ``0-9``, ``*``, ``#``, ``A-D``.
    """

    digit: str


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The stream ended; nothing follows.

    Attributes:
        reason: Why, e.g. ``"remote_closed"``, ``"idle_timeout"``.
    """

    reason: str = "remote_closed"


MediaEvent: TypeAlias = StreamStarted | AudioReceived | DtmfReceived | StreamClosed
"""Everything a media stream yields."""


class MediaStream(Protocol):
    """One call's audio channel, owned by the call runtime from start to close."""

    def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound media events in arrival order, ending after :class:`StreamClosed`."""
        ...

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send one frame of outbound audio.

        Raises:
            StreamClosedError: The stream is closed.
        """
        ...

    async def stop_audio(self) -> None:
        """Tell the far end to drop the outbound audio it has buffered (ACS ``StopAudio``)."""
        ...

    async def close(self) -> None:
        """Close the stream. Idempotent."""
        ...
