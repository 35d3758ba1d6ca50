"""One service response's audio as a run of frames, and the clauses it speaks.

A :class:`Track` is a :class:`~domain.runtime.paced_output.Run` of the realtime output: the
response's audio deltas (any size) are cut into frames of the call's ``frame_ms`` as they
arrive, a partial frame waiting for the next delta; the last one is padded with silence when
the response is done. The conversation's clauses (``Speak``) of the response are kept in order
with their character span of the response's text: the services give no word timings, so the
played share of the audio is shared between the clauses in proportion to their text.
"""

from __future__ import annotations

from collections import deque

from ports import AudioFormat, AudioFrame


class Clause:
    """A clause of a track: its speech id and its character span of the track's text."""

    __slots__ = ("end", "speech_id", "start")

    def __init__(self, speech_id: str, start: int, end: int) -> None:
        self.speech_id = speech_id
        self.start = start
        self.end = end


class Track:
    """One service response's (or fixed line's) audio and the clauses spoken by it.

    Args:
        key: The response's key (the conversation's response id, or a line's speech id).
    """

    __slots__ = (
        "buf",
        "chars",
        "clauses",
        "done",
        "first_audio_ms",
        "first_frame_ms",
        "frames",
        "item_id",
        "key",
        "last_progress_ms",
        "marked",
        "received_ms",
        "sent_ms",
        "spoken",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        self.item_id = ""
        """The service's assistant item of this audio (what a truncate names)."""
        self.frames: deque[AudioFrame] = deque()
        self.buf = bytearray()
        self.received_ms = 0.0
        self.sent_ms = 0.0
        self.done = False
        """The response finished: no more audio (the run completes once ``frames`` empty)."""
        self.clauses: list[Clause] = []
        self.chars = 0
        self.spoken = 0
        """Clauses reported complete."""
        self.last_progress_ms = 0.0
        self.first_audio_ms: float | None = None
        self.first_frame_ms: float | None = None
        self.marked = 0  # 1: first audio marked, 2: first frame marked too

    def ms_per_char(self) -> float:
        """Estimated audio per character of this track's text (0 before both are known)."""
        if not self.chars or not self.received_ms:
            return 0.0
        return self.received_ms / self.chars

    def add_clause(self, speech_id: str, text: str) -> None:
        """Add the next clause of the response's text (joined to the previous by a space)."""
        start = self.chars
        self.chars += len(text) + (1 if start else 0)
        self.clauses.append(Clause(speech_id, start, self.chars))

    def add_audio(self, data: bytes, fmt: AudioFormat, frame_bytes: int, frame_ms: int) -> int:
        """Cut ``data`` (the next delta, in ``fmt``) into frames; the number of new frames.

        Frames are ``frame_bytes`` (``frame_ms``) long; what is left waits for the next delta.
        Only a partial frame goes through the buffer; whole frames are sliced from ``data``.
        """
        buf = self.buf
        frames = self.frames
        offset = 0
        if buf:
            need = frame_bytes - len(buf)
            if len(data) < need:
                buf += data
                return 0
            buf += data[:need]
            frames.append(AudioFrame(bytes(buf), fmt))
            buf.clear()
            offset = need
        whole = (len(data) - offset) // frame_bytes
        for start in range(offset, offset + whole * frame_bytes, frame_bytes):
            # A slice of bytes is one copy (and none for a delta of exactly one frame).
            frames.append(AudioFrame(data[start : start + frame_bytes], fmt))
        rest = offset + whole * frame_bytes
        if rest < len(data):
            buf += data[rest:]
        added = whole + (1 if offset else 0)
        self.received_ms += added * frame_ms
        return added

    def finish(self, fmt: AudioFormat, frame_bytes: int, frame_ms: int, silence: bytes) -> None:
        """The response is done: its last partial frame is padded with silence and queued."""
        buf = self.buf
        if buf:
            buf += silence * (frame_bytes - len(buf))
            self.frames.append(AudioFrame(bytes(buf), fmt))
            self.received_ms += frame_ms
            buf.clear()
        self.done = True
