"""Audio conversion: the one module every adapter uses to change rate, encoding or channels.

What belongs here: stateful per-stream resampling (soxr), G.711 mu-law, mono mixdown, frame
format conversion and WAV helpers (:mod:`adapters.audio.convert`). No engine, no I/O at import.
"""

from adapters.audio.convert import (
    FormatConverter,
    Resampler,
    convert_frame,
    mulaw_decode,
    mulaw_encode,
    read_wav,
    read_wav_frames,
    split_frames,
    to_mono,
    write_wav,
)

__all__ = [
    "FormatConverter",
    "Resampler",
    "convert_frame",
    "mulaw_decode",
    "mulaw_encode",
    "read_wav",
    "read_wav_frames",
    "split_frames",
    "to_mono",
    "write_wav",
]
