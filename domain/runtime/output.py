"""What a call's media sides offer the call.

Speech out: audio (``Playout``, or the realtime mode's ``RealtimeOutput``) or text
(``TextOutput``). Media in: the reader of the media stream (``Inbound``, or the realtime
mode's ``RealtimeInbound``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from domain.commands import Speak
from ports import MediaEvent
from ports.beep import BeepDetectorFactory


class SpeechOutput(Protocol):
    """A call's speech output: :class:`Playout` for audio, ``TextOutput`` in text mode."""

    def start(self) -> None:
        """Start the output's tasks, if it has any."""
        ...

    def enqueue(self, cmd: Speak) -> None:
        """Queue ``cmd`` behind the speeches already queued."""
        ...

    def current_speech_id(self) -> str | None:
        """The speech now playing, if any."""
        ...

    def stop(self) -> bool:
        """Drop everything queued or playing; True when something was."""
        ...

    async def wait_drained(self) -> None:
        """Return once every queued speech has played."""
        ...


class MediaReader(Protocol):
    """The reader of a call's media stream (caller audio in, DTMF, the stream's end)."""

    async def read(self, media_events: AsyncIterator[MediaEvent]) -> None:
        """Read ``media_events`` until the stream closes (the task body)."""
        ...

    async def close(self) -> None:
        """Release what the reader opened; nothing is reopened after this."""
        ...

    def detect_beep(self, active: bool, factory: BeepDetectorFactory | None) -> None:
        """Start (``active``) or stop giving the caller's audio to a beep detector.

        Outbound voicemail screening; without a detector the screening's beep timeout decides.
        """
        ...
