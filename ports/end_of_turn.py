"""The ``EndOfTurnDetector`` port: is the caller's turn complete, judged from its audio.

Promise:
    * ``predict(audio)`` takes the audio of the caller's current turn (the most recent
      ``window_ms`` of it, ending at the pause being judged) and returns the probability,
      0..1, that the caller finished their turn. 0.5 or more means "complete".
    * It never blocks the event loop: a model runs in a thread or a process, and the
      coroutine only awaits it. One instance serves every call of a process; concurrent
      ``predict`` calls are allowed.
    * Audio longer than ``window_ms`` is cut to its last ``window_ms``; shorter audio is
      padded with silence in front. Any rate the resampler supports is taken (mono only).
    * Cancelling the awaiting task abandons the prediction (its thread finishes alone).
    * Errors: :class:`~ports.errors.InvalidAudioError` for audio it cannot take (at once),
      :class:`~ports.errors.ProviderError` subclasses when the model fails or is missing.

The runtime asks at each pause the voice activity detector reports; the domain's endpointing
policy (:class:`domain.policies.EndpointingPolicy`) turns the probability into "answer now"
or "wait a little longer". Smart Turn v3 (pipecat-ai/smart-turn, BSD-2-Clause) is the
offline implementation (``adapters/local/smart_turn.py``).
"""

from __future__ import annotations

from typing import Protocol

from ports.audio import AudioFrame


class EndOfTurnDetector(Protocol):
    """Predicts whether a pause ends the caller's turn; one instance per process.

    Attributes:
        window_ms: How much of the turn's most recent audio the model looks at, ms (8000 for
            Smart Turn v3); the runtime keeps at least this much.
    """

    window_ms: float

    async def predict(self, audio: AudioFrame) -> float:
        """Probability 0..1 that the turn whose audio ends ``audio`` is complete.

        Args:
            audio: The turn's most recent audio, mono, any supported rate and encoding.

        Raises:
            InvalidAudioError: ``audio`` is not mono or its rate cannot be resampled.
            ProviderError: The model failed (timeout, missing model files...).
        """
        ...
