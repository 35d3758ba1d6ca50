"""Audio boundary values: formats and frames.

Every audio byte that crosses a port travels as an :class:`AudioFrame` with an explicit
:class:`AudioFormat`, so no adapter guesses a rate. ACS media streaming uses 16 kHz or 24 kHz
PCM16 mono in 20 ms frames (640 or 960 bytes); see docs/wire-protocols.md, "ACS media streaming
WebSocket".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ports.errors import InvalidAudioError


class AudioEncoding(StrEnum):
    """Sample encoding: signed 16-bit little-endian PCM, or 8-bit G.711 mu-law."""

    PCM16 = "pcm16"
    MULAW = "mulaw"


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The shape of an audio stream.

    Attributes:
        sample_rate_hz: Samples per second per channel, e.g. 16000.
        channels: Interleaved channel count; 1 on every call path.
        encoding: Sample encoding.
        bytes_per_sample: Bytes in one sample of one channel: 2 for PCM16, 1 for mu-law.
        sample_width: Bytes in one sample of every channel (``bytes_per_sample * channels``).
        bytes_per_second: Bytes of audio per second of playback (32,000 at 16 kHz PCM16 mono).

    The last three are derived at construction (slot reads on every frame instead of property
    calls: about 4% of a loaded server's event-loop time went to those properties, issue 22).

    Raises:
        InvalidAudioError: On a non-positive rate or channel count.
    """

    sample_rate_hz: int
    channels: int = 1
    encoding: AudioEncoding = AudioEncoding.PCM16
    bytes_per_sample: int = field(init=False, repr=False, compare=False)
    sample_width: int = field(init=False, repr=False, compare=False)
    bytes_per_second: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sample_rate_hz <= 0 or self.channels <= 0:
            raise InvalidAudioError(
                f"sample rate and channels must be positive, got {self.sample_rate_hz} Hz,"
                f" {self.channels} channels"
            )
        per_sample = 2 if self.encoding is AudioEncoding.PCM16 else 1
        object.__setattr__(self, "bytes_per_sample", per_sample)
        object.__setattr__(self, "sample_width", per_sample * self.channels)
        object.__setattr__(
            self, "bytes_per_second", self.sample_rate_hz * per_sample * self.channels
        )

    def frame_bytes(self, duration_ms: int) -> int:
        """Bytes in a frame of ``duration_ms`` milliseconds (640 for 20 ms at 16 kHz PCM16)."""
        return self.sample_rate_hz * duration_ms // 1000 * self.sample_width

    def duration_ms(self, n_bytes: int) -> float:
        """Playback duration in milliseconds of ``n_bytes`` bytes in this format."""
        return n_bytes * 1000.0 / self.bytes_per_second


PCM16_16K = AudioFormat(16000)
"""16 kHz PCM16 mono: ACS ``pcm16KMono`` and the native rate of the offline recognizer."""

PCM16_24K = AudioFormat(24000)
"""24 kHz PCM16 mono: ACS ``pcm24KMono``."""

MULAW_8K = AudioFormat(8000, 1, AudioEncoding.MULAW)
"""8 kHz G.711 mu-law mono: narrowband telephony."""


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A run of audio samples in a known format.

    Attributes:
        data: Raw samples, interleaved when ``channels > 1``; PCM16 is little-endian.
        format: The format of ``data``.
        timestamp_ms: Stream time of the first sample, in ms from the stream's start (or a
            monotonic clock, as the producing port documents).

    Raises:
        InvalidAudioError: When ``data`` is not a whole number of samples for ``format``
            (for PCM16 mono: an odd byte count).
    """

    data: bytes
    format: AudioFormat
    timestamp_ms: float = 0.0
    _duration_ms: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fmt = self.format
        if len(self.data) % fmt.sample_width:
            raise InvalidAudioError(
                f"{len(self.data)} bytes is not a whole number of {fmt.sample_width}-byte"
                f" samples for {fmt.encoding} x{fmt.channels}"
            )
        object.__setattr__(self, "_duration_ms", len(self.data) * 1000.0 / fmt.bytes_per_second)

    @property
    def duration_ms(self) -> float:
        """Playback duration in milliseconds (20.0 for 640 bytes at 16 kHz PCM16 mono)."""
        return self._duration_ms
