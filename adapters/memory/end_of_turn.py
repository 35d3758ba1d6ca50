"""ScriptedEndOfTurnDetector: a :class:`ports.EndOfTurnDetector` that answers from a script."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ports import AudioFrame, Clock, InvalidAudioError, ParleyError


class ScriptedEndOfTurnDetector:
    """Returns the scripted probabilities in order, then ``default`` (the turn is complete).

    Args:
        probabilities: Answers to the first predictions, in order (0..1).
        default: Answer once the script is used up.
        delay_ms: Time each prediction takes on ``clock`` (0: answers at once).
        clock: The clock that ``delay_ms`` runs on (a :class:`ManualClock` in tests); needed
            when ``delay_ms`` > 0.
        fail_with: Raised by every prediction instead of answering (provoke failures).
        window_ms: The window reported to the runtime, ms.

    Attributes:
        audio: Every audio frame it was asked about, in order.
    """

    def __init__(
        self,
        probabilities: Iterable[float] = (),
        *,
        default: float = 1.0,
        delay_ms: float = 0.0,
        clock: Clock | None = None,
        fail_with: ParleyError | None = None,
        window_ms: float = 8000.0,
    ) -> None:
        if delay_ms > 0 and clock is None:
            raise ValueError("a delayed detector needs a clock")
        self._script = deque(probabilities)
        self.default = default
        self.delay_ms = delay_ms
        self._clock = clock
        self.fail_with = fail_with
        self.window_ms = window_ms
        self.audio: list[AudioFrame] = []

    async def predict(self, audio: AudioFrame) -> float:
        """The next scripted probability, after ``delay_ms``.

        Raises:
            InvalidAudioError: ``audio`` is not mono.
            ParleyError: ``fail_with``, when set.
        """
        if audio.format.channels != 1:
            raise InvalidAudioError(f"the detector takes mono audio, got {audio.format}")
        self.audio.append(audio)
        if self.delay_ms and self._clock is not None:
            await self._clock.sleep(self.delay_ms)
        if self.fail_with is not None:
            raise self.fail_with
        return self._script.popleft() if self._script else self.default
