"""The ``CallAudioRecorder`` port: Parley's own recording of a call's audio.

For calls without provider recording (the ACS emulator, the browser, offline runs) the call's
audio is written as a two-channel WAV: the caller on the left channel, the agent on the right,
on one timeline.

Promise:
    * ``open(call_id, fmt)`` starts one recording; ``fmt`` is the call's media format (the
      agent's frames use the same one).
    * :class:`CallAudioRecording` methods ``caller``, ``agent`` and ``agent_cleared`` are
      synchronous, cheap and never raise: they are called per 20 ms frame on the call path and
      only buffer. A recording that falls behind drops audio (counted in ``dropped_ms``), never
      the call.
    * ``close()`` writes what is buffered and returns the recording (``state`` ``"available"``,
      ``location`` the file), or one in state ``"failed"`` naming the error in ``data``.
    * ``delete(recording)`` removes the file (retention, data-protection requests); a missing
      file is not an error.
"""

from __future__ import annotations

from typing import Protocol

from ports.audio import AudioFormat, AudioFrame
from ports.call_history import RecordingRef


class CallAudioRecording(Protocol):
    """One call's recording in progress."""

    @property
    def dropped_ms(self) -> float:
        """Audio dropped because the writer fell behind, ms."""
        ...

    def caller(self, frame: AudioFrame) -> None:
        """Audio the caller sent (arrives continuously, in real time)."""
        ...

    def agent(self, frame: AudioFrame) -> None:
        """Audio sent to the caller (paced; placed at the caller's current position or later)."""
        ...

    def agent_cleared(self) -> None:
        """The far end dropped the agent audio it had not played (barge-in ``StopAudio``)."""
        ...

    async def close(self) -> RecordingRef:
        """Finish the file and describe it."""
        ...


class CallAudioRecorder(Protocol):
    """Makes per-call recordings."""

    def open(self, call_id: str, fmt: AudioFormat) -> CallAudioRecording:
        """Start recording call ``call_id`` in ``fmt``."""
        ...

    async def delete(self, recording: RecordingRef) -> None:
        """Remove the recording's file, if it exists.

        Raises:
            StoreError: The file exists and could not be removed.
        """
        ...
