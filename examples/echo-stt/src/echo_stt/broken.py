"""A deliberately wrong echo adapter: it reports transcript offsets in seconds, not ms."""

from __future__ import annotations

from echo_stt import EchoSpeechToText


class SecondsEchoSpeechToText(EchoSpeechToText):
    """Like :class:`EchoSpeechToText`, but its offsets are seconds (a unit bug)."""

    def offset(self, pushed_ms: float) -> float:
        """Seconds instead of milliseconds: breaks the port's promise about units."""
        return pushed_ms / 1000.0
