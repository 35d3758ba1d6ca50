"""What a call's speech output offers the call: audio (``Playout``) or text (``TextOutput``)."""

from __future__ import annotations

from typing import Protocol

from domain.commands import Speak


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
