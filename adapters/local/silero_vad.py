"""Silero VAD v6 (ONNX, through onnxruntime) behind ``ports.VoiceActivityDetector``.

The model ships inside the faster-whisper wheel (``faster_whisper/assets/silero_vad_v6.onnx``,
MIT, snakers4/silero-vad); nothing is downloaded. It scores windows of 512 samples at 16 kHz
(32 ms) given the previous window's last 64 samples as context and the LSTM state (``h``,
``c``: 1x1x128 each) carried from window to window, as the batched call in faster-whisper's
``vad.py`` does in one run. One ONNX session (single-threaded) serves every detector of a
process; each detector keeps its own state, context and pending samples.

Frames of any duration are taken: they are converted to 16 kHz PCM16 by :mod:`adapters.audio`
(mu-law decoded, 8 and 24 kHz resampled per detector), buffered, and scored one window at a
time; :meth:`SileroVad.speech_probability` returns the latest window's probability, so a
20 ms frame gets the score of the window it completed (or the previous one).

Cost: about 0.1 ms of CPU per 32 ms window on one core (``benchmarks/bench_local_engines.py``
prints it), so the runtime calls it inline on the event loop like webrtcvad; unlike webrtcvad
it is a neural model trained to reject noise: white noise, hiss and hum score below 0.15.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from adapters.audio import FormatConverter
from adapters.local import models
from adapters.local._imports import require
from ports import PCM16_16K, AudioFormat, AudioFrame, InvalidAudioError, ProviderUnavailableError

_ort = require("onnxruntime", "onnxruntime")

WINDOW_SAMPLES = 512
"""Samples per scored window at 16 kHz (32 ms)."""

CONTEXT_SAMPLES = 64
"""Samples of the previous window prepended to each window (the model's input is 576 wide)."""

_WINDOW_BYTES = WINDOW_SAMPLES * 2


class SileroVad:
    """One call's detector: Silero's speech probability of the latest 32 ms window.

    Created by :class:`SileroVadFactory`.

    Args:
        fmt: Format of the frames the call will pass (mono; any rate the resampler takes).
        session: The shared ``onnxruntime.InferenceSession`` of the model.
    """

    def __init__(self, fmt: AudioFormat, session: Any) -> None:
        self.format = fmt
        self._session = session
        self._converter = None if fmt == PCM16_16K else FormatConverter(fmt, PCM16_16K)
        self._pending = bytearray()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._input = np.zeros((1, CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
        self._last = 0.0

    def speech_probability(self, frame: AudioFrame) -> float:
        """Score one frame (any duration): the probability of the latest complete window.

        Returns:
            0..1. Until the first 32 ms window is complete, 0.0.

        Raises:
            InvalidAudioError: The frame's format differs from the detector's.
        """
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"VAD got a frame in {frame.format}, expected {self.format}")
        data = frame.data if self._converter is None else self._converter.convert(frame).data
        self._pending += data
        while len(self._pending) >= _WINDOW_BYTES:
            self._score(self._pending[:_WINDOW_BYTES])
            del self._pending[:_WINDOW_BYTES]
        return self._last

    def _score(self, window: bytearray) -> None:
        samples: npt.NDArray[np.float32] = (
            np.frombuffer(window, dtype="<i2").astype(np.float32) / 32768.0
        )
        model_input = self._input
        model_input[0, CONTEXT_SAMPLES:] = samples
        probability, self._h, self._c = self._session.run(
            None, {"input": model_input, "h": self._h, "c": self._c}
        )
        # The next window's context is this window's last 64 samples.
        model_input[0, :CONTEXT_SAMPLES] = samples[-CONTEXT_SAMPLES:]
        self._last = min(1.0, max(0.0, float(probability.reshape(-1)[0])))


class SileroVadFactory:
    """Makes a :class:`SileroVad` per call (``ports.VadFactory``); loads the model once.

    Args:
        model_path: The Silero ONNX file; None for the one inside faster-whisper.

    Raises:
        ProviderUnavailableError: The model file is missing (checked here).
    """

    def __init__(self, model_path: str | Path | None = None) -> None:
        self.model_path = Path(model_path) if model_path is not None else models.silero_vad_onnx()
        if not self.model_path.is_file():
            raise ProviderUnavailableError(
                f"Silero VAD model {self.model_path} missing", port="vad"
            )
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                options = _ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.enable_cpu_mem_arena = False
                options.log_severity_level = 4
                try:
                    self._session = _ort.InferenceSession(
                        str(self.model_path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
                    raise ProviderUnavailableError(
                        f"Silero VAD model {self.model_path} did not load: {exc}", port="vad"
                    ) from exc
            return self._session

    def warm_up(self) -> None:
        """Load the model now (about 20 ms) instead of on the first call."""
        self._load()

    def __call__(self, fmt: AudioFormat) -> SileroVad:
        """Return a new detector for audio in ``fmt``.

        Raises:
            InvalidAudioError: ``fmt`` is not mono, or its rate cannot be resampled to 16 kHz.
            ProviderUnavailableError: The model did not load.
        """
        if fmt.channels != 1:
            raise InvalidAudioError(f"Silero VAD takes mono audio, got {fmt}")
        return SileroVad(fmt, self._load())
