"""Test signals for the fakes: loudness of a frame and a steady tone in any format.

This is not an audio converter (that is :mod:`adapters.audio`): the fakes only need to tell
loud from quiet and to produce audible, well-formed bytes, with the standard library alone.
G.711 mu-law magnitudes follow ITU-T G.711 (bias 0x84, segment and mantissa of the inverted
byte).
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from collections.abc import Sequence

from ports import AudioEncoding, AudioFormat, AudioFrame

_RMS_SAMPLES = 80
_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _mulaw_magnitude(byte: int) -> int:
    inverted = ~byte & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    return (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS


def _mulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), _MULAW_CLIP) + _MULAW_BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def frame_rms(frame: AudioFrame) -> float:
    """Root-mean-square amplitude of a frame on the PCM16 scale (0..32768), estimated.

    Cheap enough for a per-frame fake (a few microseconds): digital silence is recognised
    without decoding, and loud frames are measured on at most about 80 evenly spaced samples.

    Args:
        frame: PCM16 or mu-law audio; channels are pooled.

    Returns:
        The RMS amplitude; 0.0 for an empty or digitally silent frame.
    """
    data = frame.data
    if frame.format.encoding is AudioEncoding.MULAW:
        if not data.strip(b"\xff\x7f"):
            return 0.0
        picked = data[:: max(1, len(data) // _RMS_SAMPLES)]
        magnitudes = [_mulaw_magnitude(b) for b in picked]
        return math.sqrt(sum(map(operator.mul, magnitudes, magnitudes)) / len(magnitudes))
    if not data.strip(b"\x00"):
        return 0.0
    if sys.byteorder == "little":
        samples: Sequence[int] = memoryview(data).cast("h")
    else:
        swapped = array("h")
        swapped.frombytes(data)
        swapped.byteswap()
        samples = swapped
    picked_samples = samples[:: max(1, len(samples) // _RMS_SAMPLES)]
    total = sum(map(operator.mul, picked_samples, picked_samples))
    return math.sqrt(total / len(picked_samples))


def tone_second(fmt: AudioFormat, *, amplitude: int, frequency_hz: int = 400) -> bytes:
    """One second of a sine tone in ``fmt``; slices at whole-sample offsets join seamlessly.

    Args:
        fmt: Output format (PCM16 little-endian or mu-law, any rate and channel count).
        amplitude: Peak amplitude on the PCM16 scale; 0 gives digital silence.
        frequency_hz: Tone frequency; 400 Hz divides every common rate, so a second is a
            whole number of periods.

    Returns:
        ``fmt.bytes_per_second`` bytes.
    """
    return _tone(fmt, amplitude=amplitude, frequency_hz=frequency_hz, samples=fmt.sample_rate_hz)


def _tone(fmt: AudioFormat, *, amplitude: int, frequency_hz: int, samples: int) -> bytes:
    rate = fmt.sample_rate_hz
    values = [
        int(amplitude * math.sin(2 * math.pi * frequency_hz * i / rate)) for i in range(samples)
    ]
    if fmt.encoding is AudioEncoding.MULAW:
        mono = bytes(_mulaw_encode(v) for v in values)
        width = 1
    else:
        pcm = array("h", values)
        if sys.byteorder == "big":
            pcm.byteswap()
        mono = pcm.tobytes()
        width = 2
    if fmt.channels == 1:
        return mono
    return b"".join(mono[i : i + width] * fmt.channels for i in range(0, len(mono), width))


def tone_frame(
    fmt: AudioFormat, duration_ms: int, *, amplitude: int = 3000, timestamp_ms: float = 0.0
) -> AudioFrame:
    """A frame of ``duration_ms`` of tone (``amplitude`` 0 for silence) in ``fmt``.

    Args:
        fmt: Frame format.
        duration_ms: Frame duration in ms (at most 1000).
        amplitude: Peak amplitude on the PCM16 scale.
        timestamp_ms: The frame's timestamp.

    Returns:
        The frame.
    """
    samples = fmt.sample_rate_hz * duration_ms // 1000
    data = _tone(fmt, amplitude=amplitude, frequency_hz=400, samples=samples)
    return AudioFrame(data, fmt, timestamp_ms)


def tone_frames(
    fmt: AudioFormat,
    duration_ms: int,
    *,
    frame_ms: int = 20,
    amplitude: int = 3000,
    start_ms: float = 0.0,
) -> list[AudioFrame]:
    """Consecutive frames of tone (or silence, ``amplitude=0``) covering ``duration_ms``.

    Args:
        fmt: Frame format.
        duration_ms: Total duration in ms; the last frame is shorter when it does not divide.
        frame_ms: Duration of each frame in ms (20 on every call path).
        amplitude: Peak amplitude on the PCM16 scale; the fakes' VAD and speech-to-text treat
            an RMS above about 500 as speech.
        start_ms: Timestamp of the first frame.

    Returns:
        Frames with timestamps ``start_ms``, ``start_ms + frame_ms``, ...
    """
    second = tone_second(fmt, amplitude=amplitude)
    step = fmt.frame_bytes(frame_ms)
    total = fmt.frame_bytes(duration_ms)
    frames = []
    for index, offset in enumerate(range(0, total, step)):
        size = min(step, total - offset)
        start = offset % len(second)
        data = (second[start:] + second)[:size]
        frames.append(AudioFrame(data, fmt, start_ms + index * frame_ms))
    return frames
