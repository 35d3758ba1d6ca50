"""The one audio conversion module: resampling, G.711 mu-law, mono mixdown, WAV files.

Every adapter that changes an audio rate, encoding or channel count does it here, so there
is one implementation to test and to measure (``benchmarks/bench_local_engines.py``).

* :class:`Resampler` wraps ``soxr.ResampleStream`` at quality ``"QQ"`` (quick, cubic
  interpolation). It is stateful per stream, so consecutive frames join without clicks, and
  holds back at most a few samples (< 0.3 ms measured for 8/16/24/48 kHz pairs). soxr's
  default ``"HQ"`` buffers 20-100 ms before its first output, too slow for a 20 ms pipeline
  (python-soxr docs, ``ResampleStream``). Quick quality has no steep anti-alias filter, which
  is acceptable for speech: what is lost above the target Nyquist is mostly noise.
* :func:`mulaw_encode` / :func:`mulaw_decode` implement G.711 mu-law (ITU-T G.711, the
  classic Sun ``g711.c`` algorithm with bias 0x84 and clip 32635) in numpy; ``audioop`` is
  deprecated since Python 3.11 and gone in 3.13.
* :class:`FormatConverter` chains decode -> mono mixdown -> resample -> encode for a stream of
  :class:`~ports.AudioFrame` values.
* :func:`read_wav` / :func:`read_wav_frames` / :func:`write_wav` move any-rate, any-channel,
  8/16/24/32-bit PCM WAV files in and out of :class:`~ports.AudioFrame` values (stdlib
  ``wave``; WAVE_FORMAT_EXTENSIBLE and float WAV are refused with a clear error).
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soxr

from ports import AudioEncoding, AudioFormat, AudioFrame, InvalidAudioError

__all__ = [
    "MAX_RESAMPLE_RATIO",
    "FormatConverter",
    "Resampler",
    "check_resample",
    "convert_frame",
    "mulaw_decode",
    "mulaw_encode",
    "read_wav",
    "read_wav_frames",
    "split_frames",
    "to_mono",
    "write_wav",
]

RESAMPLER_QUALITY = "QQ"
"""soxr quality recipe: quick (cubic), a few samples of latency; see the module docstring."""

MIN_RATE_HZ = 1000
"""Lowest sample rate a resampler is built for, Hz (telephony starts at 8000)."""

MAX_RATE_HZ = 384_000
"""Highest sample rate a resampler is built for, Hz."""

MAX_RESAMPLE_RATIO = 24.0
"""Largest up- or down-sampling factor (8 kHz <-> 192 kHz); beyond it is refused.

A soxr stream asked for 22 050 -> 2 Hz, or 1 -> 16 000 Hz (7 M samples out per 20 ms in),
either starves or floods its caller; no real audio path needs more than 24x.
"""

_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _build_exponent_table() -> npt.NDArray[np.uint8]:
    # Exponent (segment) of a biased magnitude, indexed by magnitude >> 7; g711.c's seg table.
    index = np.arange(256)
    table = np.zeros(256, dtype=np.uint8)
    nonzero = index > 0
    table[nonzero] = np.floor(np.log2(index[nonzero])).astype(np.uint8)
    table.setflags(write=False)
    return table


def _build_decode_table() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    table = np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)
    table.setflags(write=False)
    return table


_EXPONENT = _build_exponent_table()
_DECODE = _build_decode_table()


def _pcm16(data: bytes) -> npt.NDArray[np.int16]:
    if len(data) % 2:
        raise InvalidAudioError(f"PCM16 needs an even byte count, got {len(data)} bytes")
    return np.frombuffer(data, dtype="<i2")


def mulaw_encode(pcm16: bytes) -> bytes:
    """Encode little-endian PCM16 samples as G.711 mu-law, one byte per sample.

    Args:
        pcm16: PCM16 little-endian samples (any channel layout; each sample is coded alone).

    Returns:
        ``len(pcm16) // 2`` mu-law bytes.

    Raises:
        InvalidAudioError: ``pcm16`` has an odd byte count.
    """
    x = _pcm16(pcm16).astype(np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(x), _MULAW_CLIP) + _MULAW_BIAS
    exponent = _EXPONENT[magnitude >> 7].astype(np.int32)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return bytes((~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes())


def mulaw_decode(mulaw: bytes) -> bytes:
    """Decode G.711 mu-law bytes to little-endian PCM16.

    Returns:
        ``2 * len(mulaw)`` bytes of PCM16; decoded magnitudes never exceed 32124.
    """
    return bytes(_DECODE[np.frombuffer(mulaw, dtype=np.uint8)].astype("<i2").tobytes())


def to_mono(pcm16: bytes, channels: int) -> bytes:
    """Mix interleaved PCM16 down to one channel by averaging.

    Args:
        pcm16: Interleaved little-endian PCM16.
        channels: Channel count of ``pcm16`` (1 returns the input unchanged).

    Returns:
        Mono PCM16, ``len(pcm16) // channels`` bytes.

    Raises:
        InvalidAudioError: ``pcm16`` is not a whole number of multichannel samples.
    """
    if channels < 1:
        raise InvalidAudioError(f"channel count must be positive, got {channels}")
    if channels == 1:
        return pcm16
    if len(pcm16) % (2 * channels):
        raise InvalidAudioError(
            f"{len(pcm16)} bytes is not a whole number of {channels}-channel PCM16 samples"
        )
    samples = _pcm16(pcm16).reshape(-1, channels).astype(np.int32)
    return bytes(samples.mean(axis=1).round().astype("<i2").tobytes())


def check_resample(in_hz: int, out_hz: int, channels: int = 1) -> None:
    """Refuse a conversion no real audio path needs, before any resampler is built.

    Args:
        in_hz: Input sample rate, Hz.
        out_hz: Output sample rate, Hz.
        channels: Interleaved channel count.

    Raises:
        InvalidAudioError: ``channels`` is not positive, a rate is outside
            :data:`MIN_RATE_HZ`..:data:`MAX_RATE_HZ`, or ``out_hz / in_hz`` is above
            :data:`MAX_RESAMPLE_RATIO` or below its inverse.
    """
    if channels <= 0:
        raise InvalidAudioError(f"resampler needs a positive channel count, got {channels}")
    for rate in (in_hz, out_hz):
        if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
            raise InvalidAudioError(
                f"resampler rate {rate} Hz is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz"
                f" ({in_hz} -> {out_hz} Hz)"
            )
    ratio = out_hz / in_hz
    if not 1.0 / MAX_RESAMPLE_RATIO <= ratio <= MAX_RESAMPLE_RATIO:
        raise InvalidAudioError(
            f"resampling {in_hz} -> {out_hz} Hz is a ratio of {ratio:.4g}; at most"
            f" {MAX_RESAMPLE_RATIO:g}x either way is supported"
        )


class Resampler:
    """Stateful PCM16 resampler for one stream (``soxr.ResampleStream``, quality ``QQ``).

    Keep one instance per stream and feed it consecutive chunks: the filter state carries
    across chunk edges, so there are no clicks. Output length over a stream equals
    ``round(total_in * out_hz / in_hz)`` within a couple of samples once :meth:`flush` is
    called; each chunk's output may be a few samples short while the filter primes.

    Args:
        in_hz: Input sample rate, Hz (e.g. 8000, 16000, 24000, 48000).
        out_hz: Output sample rate, Hz.
        channels: Interleaved channel count.

    Raises:
        InvalidAudioError: A channel count is not positive, a rate is outside
            :data:`MIN_RATE_HZ`..:data:`MAX_RATE_HZ`, or the ratio exceeds
            :data:`MAX_RESAMPLE_RATIO` either way.
    """

    def __init__(self, in_hz: int, out_hz: int, channels: int = 1) -> None:
        check_resample(in_hz, out_hz, channels)
        self.in_hz = in_hz
        self.out_hz = out_hz
        self.channels = channels
        self._stream: soxr.ResampleStream | None = (
            None
            if in_hz == out_hz
            else soxr.ResampleStream(in_hz, out_hz, channels, dtype="int16", quality="QQ")
        )

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next chunk of the stream.

        Args:
            pcm16: Little-endian PCM16, interleaved when ``channels > 1``.

        Returns:
            Resampled PCM16 (possibly a few samples fewer than the exact ratio while priming).

        Raises:
            InvalidAudioError: ``pcm16`` is not a whole number of samples.
        """
        if len(pcm16) % (2 * self.channels):
            raise InvalidAudioError(
                f"{len(pcm16)} bytes is not a whole number of {self.channels}-channel PCM16 samples"
            )
        if self._stream is None:
            return pcm16
        samples = _pcm16(pcm16)
        if self.channels > 1:
            samples = samples.reshape(-1, self.channels)
        out = self._stream.resample_chunk(samples, last=False)
        return np.ascontiguousarray(out, dtype="<i2").tobytes()

    def flush(self) -> bytes:
        """End the stream and return the samples the filter still holds (a few at most)."""
        if self._stream is None:
            return b""
        empty = np.zeros((0, self.channels) if self.channels > 1 else 0, dtype=np.int16)
        out = self._stream.resample_chunk(empty, last=True)
        self._stream.clear()
        return np.ascontiguousarray(out, dtype="<i2").tobytes()


class FormatConverter:
    """Converts a stream of frames from one :class:`~ports.AudioFormat` to another.

    Steps, each only when needed: mu-law decode, mono mixdown (when ``to_fmt`` is mono),
    stateful resampling, mu-law encode. One instance per stream; not thread-safe.

    Args:
        from_fmt: Format of the frames passed to :meth:`convert`.
        to_fmt: Format of the frames returned. Multichannel output is only possible when the
            channel count does not change.

    Raises:
        InvalidAudioError: The channel change is not a mixdown to mono.
    """

    def __init__(self, from_fmt: AudioFormat, to_fmt: AudioFormat) -> None:
        if from_fmt.channels != to_fmt.channels and to_fmt.channels != 1:
            raise InvalidAudioError(
                f"cannot convert {from_fmt.channels} channels to {to_fmt.channels}; only"
                " mixdown to mono is supported"
            )
        self.from_fmt = from_fmt
        self.to_fmt = to_fmt
        self._resampler = Resampler(from_fmt.sample_rate_hz, to_fmt.sample_rate_hz, to_fmt.channels)
        self._next_ts: float | None = None

    @property
    def is_identity(self) -> bool:
        """True when frames pass through unchanged."""
        return self.from_fmt == self.to_fmt

    def convert(self, frame: AudioFrame) -> AudioFrame:
        """Convert the next frame of the stream.

        Returns:
            A frame in ``to_fmt`` with the input's timestamp; its duration may be a fraction
            of a ms shorter than the input's while the resampler primes, never longer by more
            than what an earlier frame held back.

        Raises:
            InvalidAudioError: ``frame.format`` differs from ``from_fmt``.
        """
        if frame.format != self.from_fmt:
            raise InvalidAudioError(
                f"frame format {frame.format} does not match the converter's {self.from_fmt}"
            )
        self._next_ts = frame.timestamp_ms + frame.duration_ms
        if self.is_identity:
            return frame
        return AudioFrame(self._transform(frame.data), self.to_fmt, frame.timestamp_ms)

    def flush(self) -> AudioFrame | None:
        """End the stream; returns the few samples the resampler still holds, if any."""
        tail = self._resampler.flush()
        if not tail:
            return None
        if self.to_fmt.encoding is AudioEncoding.MULAW:
            tail = mulaw_encode(tail)
        return AudioFrame(tail, self.to_fmt, self._next_ts or 0.0)

    def _transform(self, data: bytes) -> bytes:
        if self.from_fmt.encoding is AudioEncoding.MULAW:
            data = mulaw_decode(data)
        if self.to_fmt.channels == 1 and self.from_fmt.channels > 1:
            data = to_mono(data, self.from_fmt.channels)
        data = self._resampler.process(data)
        if self.to_fmt.encoding is AudioEncoding.MULAW:
            data = mulaw_encode(data)
        return data


def convert_frame(frame: AudioFrame, to_fmt: AudioFormat) -> AudioFrame:
    """Convert one self-contained frame (a whole clip) to ``to_fmt``, flushing the resampler.

    For a live stream use a :class:`FormatConverter` per stream instead, so edges join.

    Raises:
        InvalidAudioError: The conversion is not possible (see :class:`FormatConverter`).
    """
    converter = FormatConverter(frame.format, to_fmt)
    head = converter.convert(frame)
    tail = converter.flush()
    if tail is None:
        return head
    return AudioFrame(head.data + tail.data, to_fmt, frame.timestamp_ms)


def split_frames(frame: AudioFrame, frame_ms: int = 20, *, pad: bool = False) -> list[AudioFrame]:
    """Cut a clip into consecutive frames of ``frame_ms`` ms, timestamps advancing.

    Args:
        frame: The clip.
        frame_ms: Frame duration, ms (20 on every call path).
        pad: Pad the last partial frame with silence to full size instead of keeping it short.

    Returns:
        The frames in order; the last may be shorter unless ``pad``.

    Raises:
        InvalidAudioError: ``frame_ms`` is not positive or gives frames under one sample.
    """
    size = frame.format.frame_bytes(frame_ms)
    if frame_ms <= 0 or size <= 0:
        raise InvalidAudioError(f"frame duration {frame_ms} ms is too short for {frame.format}")
    silence = b"\xff" if frame.format.encoding is AudioEncoding.MULAW else b"\x00"
    frames = []
    for i, start in enumerate(range(0, len(frame.data), size)):
        chunk = frame.data[start : start + size]
        if pad and len(chunk) < size:
            chunk += silence * (size - len(chunk))
        frames.append(AudioFrame(chunk, frame.format, frame.timestamp_ms + i * frame_ms))
    return frames


def _to_pcm16(raw: bytes, width: int) -> bytes:
    if width == 2:
        return raw
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        return ((np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8).astype("<i2").tobytes()
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        return b[:, 1:].copy().tobytes()  # keep the two most significant bytes (little-endian)
    if width == 4:
        return (np.frombuffer(raw, "<i4") >> 16).astype("<i2").tobytes()
    raise InvalidAudioError(f"unsupported WAV sample width {width} bytes")


def read_wav(
    source: str | Path | bytes | BinaryIO, target: AudioFormat | None = None
) -> AudioFrame:
    """Read a PCM WAV file (any rate, channels, 8/16/24/32-bit) as one frame.

    Args:
        source: Path, the file's bytes, or a binary file object.
        target: Format to convert to (rate, channels, encoding); None keeps the file's rate
            and channels as PCM16.

    Returns:
        The whole clip as one :class:`~ports.AudioFrame` with timestamp 0.

    Raises:
        InvalidAudioError: Not a PCM WAV the stdlib ``wave`` module can read (float and
            WAVE_FORMAT_EXTENSIBLE files are refused), or an impossible conversion.
        OSError: The path cannot be read.
    """
    stream: BinaryIO
    if isinstance(source, bytes):
        stream = io.BytesIO(source)
    elif isinstance(source, str | Path):
        stream = io.BytesIO(Path(source).read_bytes())
    else:
        stream = source
    try:
        with wave.open(stream, "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidAudioError(f"not a PCM WAV file: {exc}") from exc
    frame = AudioFrame(_to_pcm16(raw, width), AudioFormat(rate, channels))
    return frame if target is None else convert_frame(frame, target)


def read_wav_frames(
    source: str | Path | bytes | BinaryIO, target: AudioFormat, frame_ms: int = 20
) -> list[AudioFrame]:
    """Read a WAV file converted to ``target`` and cut into ``frame_ms`` frames.

    Raises:
        InvalidAudioError: As :func:`read_wav`.
    """
    return split_frames(read_wav(source, target), frame_ms)


def write_wav(
    destination: str | Path | BinaryIO, frames: AudioFrame | Sequence[AudioFrame]
) -> None:
    """Write frames (all in one format) as a PCM16 WAV file; mu-law is decoded first.

    Args:
        destination: Path or writable binary file object.
        frames: One frame or consecutive frames of the same format.

    Raises:
        InvalidAudioError: Frames differ in format, or there are none.
    """
    items: Iterable[AudioFrame] = [frames] if isinstance(frames, AudioFrame) else frames
    items = list(items)
    if not items:
        raise InvalidAudioError("write_wav needs at least one frame")
    fmt = items[0].format
    if any(f.format != fmt for f in items):
        raise InvalidAudioError("write_wav: frames differ in format")
    data = b"".join(f.data for f in items)
    if fmt.encoding is AudioEncoding.MULAW:
        data = mulaw_decode(data)
    out: BinaryIO = io.BytesIO() if isinstance(destination, str | Path) else destination
    with wave.open(out, "wb") as wav:
        wav.setnchannels(fmt.channels)
        wav.setsampwidth(2)
        wav.setframerate(fmt.sample_rate_hz)
        wav.writeframes(data)
    if isinstance(destination, str | Path) and isinstance(out, io.BytesIO):
        Path(destination).write_bytes(out.getvalue())
