"""Playback progress of one Twilio Media Stream, from the ``mark`` messages Twilio echoes.

Twilio plays the ``media`` we send in order and, for each ``mark`` we send after it, echoes a
``mark`` with the same name once the audio sent before it has finished playing; on ``clear``
it drops its buffered audio and echoes every mark still pending at once ("Media Streams -
WebSocket Messages", https://www.twilio.com/docs/voice/media-streams/websocket-messages).

:class:`PlaybackMarks` is the bookkeeping (no I/O, no clock): it names each mark after the
audio sent before it (``"<generation>:<ms>"``), moves the confirmed position forward on each
echo, and on ``clear`` starts a new generation so that the echoes of cleared marks, which
Twilio sends after the ``clear``, never count as played.
"""

from __future__ import annotations


class PlaybackMarks:
    """Audio sent and audio confirmed played, in ms since the last ``clear``.

    Args:
        mark_every: Frames between two marks (1: a mark after every frame, so the played
            position is known to within one frame).

    Raises:
        ValueError: ``mark_every`` is below 1.

    Attributes:
        generation: Number of ``clear`` messages so far; it prefixes every mark name.
        sent_ms: Audio sent since the last ``clear``, ms.
        played_ms: Of that, audio Twilio confirmed played (the last echoed mark), ms.
        echoed: Echoes that moved ``played_ms`` forward (all generations).
        heard_at_clear_ms: ``played_ms`` when the last ``clear`` went out: what the caller had
            heard of the cleared audio by the last echo before it; None before any ``clear``.
    """

    __slots__ = ("_frames", "echoed", "generation", "heard_at_clear_ms", "mark_every", "played_ms",
                 "sent_ms")  # fmt: skip

    def __init__(self, mark_every: int = 1) -> None:
        if mark_every < 1:
            raise ValueError(f"mark_every must be at least 1, got {mark_every}")
        self.mark_every = mark_every
        self.generation = 0
        self.sent_ms = 0.0
        self.played_ms = 0.0
        self.echoed = 0
        self.heard_at_clear_ms: float | None = None
        self._frames = 0

    @property
    def unplayed_ms(self) -> float:
        """Audio sent since the last ``clear`` that Twilio has not confirmed played, ms."""
        return self.sent_ms - self.played_ms

    def sent(self, duration_ms: float) -> str | None:
        """Account one frame sent; the name of the mark to send after it, or None.

        Args:
            duration_ms: The frame's duration, ms.
        """
        self.sent_ms += duration_ms
        self._frames += 1
        if self._frames % self.mark_every:
            return None
        return f"{self.generation}:{round(self.sent_ms)}"

    def echo(self, name: str) -> bool:
        """Twilio echoed mark ``name``; True when it moved the played position forward.

        Marks of an earlier generation (cleared audio, echoed because of the ``clear``) and
        names that are not ours change nothing.
        """
        generation, _, position = name.partition(":")
        if not (position.isascii() and position.isdigit()) or generation != str(self.generation):
            return False
        played = min(float(position), self.sent_ms)
        if played <= self.played_ms:
            return False
        self.played_ms = played
        self.echoed += 1
        return True

    def clear(self) -> float:
        """A ``clear`` goes out: return the position heard (ms) and start a new generation."""
        heard = self.heard_at_clear_ms = self.played_ms
        self.generation += 1
        self.sent_ms = self.played_ms = 0.0
        self._frames = 0
        return heard
