"""The ``BeepDetector`` port: the tone at the end of a voicemail greeting.

An answering machine ends its greeting with a beep: a steady pure tone (typically 400-2000 Hz,
150 ms or longer). The runtime gives the callee's audio of an outbound call to a detector while
the conversation waits for that beep (``domain.commands.DetectBeep``).

Promise: ``process(frame)`` is cheap (it runs on the event loop, per 20 ms frame), never
raises for audio in the detector's format, and returns True once per beep, on the frame where
the tone has lasted long enough. One detector per call.
"""

from __future__ import annotations

from typing import Protocol

from ports.audio import AudioFormat, AudioFrame


class BeepDetector(Protocol):
    """Finds beeps in one call's audio."""

    def process(self, frame: AudioFrame) -> bool:
        """Take one frame; True when a beep has just been heard.

        Raises:
            InvalidAudioError: The frame is not in the detector's format.
        """
        ...


class BeepDetectorFactory(Protocol):
    """Makes one :class:`BeepDetector` per call, for the call's audio format."""

    def __call__(self, fmt: AudioFormat) -> BeepDetector:
        """A detector for ``fmt``.

        Raises:
            InvalidAudioError: ``fmt`` is not supported.
        """
        ...
