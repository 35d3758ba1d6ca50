"""Smart Turn v3 (ONNX) behind ``ports.EndOfTurnDetector``: is the caller's turn complete?

Smart Turn v3.2 (pipecat-ai/smart-turn, BSD-2-Clause; the CPU build, 8.7 MB, ships inside the
``pipecat-ai`` wheel, installed without its dependencies: see ``docs/local-engines.md``) is a
Whisper-tiny encoder with a classification head. It reads the last 8 s of the caller's audio
at 16 kHz as Whisper log-mel features (80 mel bins x 800 frames, waveform normalised to zero
mean and unit variance first, shorter audio padded with silence in front) and returns a
sigmoid probability that the turn is complete (input ``input_features``, output ``logits``;
facts from pipecat's ``local_smart_turn_v3.py``). It hears intonation and trailing words
("and...", "I want to...") that a fixed silence timeout cannot.

The features come from faster-whisper's ``FeatureExtractor`` (the same Whisper log-mel
recipe, numpy only). The model runs on ``workers`` threads of its own (onnxruntime releases
the GIL), single-threaded each: about 50-150 ms per prediction on one core of this machine
(``benchmarks/bench_local_engines.py``). Each prediction has a deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from adapters.audio import convert_frame
from adapters.audio.convert import check_resample
from adapters.local import models
from adapters.local._imports import require, shutdown_pool
from ports import (
    PCM16_16K,
    AudioFrame,
    InvalidAudioError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)

_ort = require("onnxruntime", "onnxruntime")
_features = require("faster_whisper.feature_extractor", "faster-whisper")

WINDOW_S = 8
"""Seconds of audio the model reads."""

_SAMPLES = WINDOW_S * 16000
_FRAMES = WINDOW_S * 100


class SmartTurnDetector:
    """Smart Turn v3 end-of-turn predictions (``ports.EndOfTurnDetector``).

    Args:
        model_path: The ONNX file; None for the one inside the ``pipecat-ai`` wheel.
        workers: Predictions that may run at once (threads).
        timeout_s: Deadline of one prediction, seconds (queueing included).

    Attributes:
        window_ms: 8000: the model reads the last 8 s of the turn.

    Raises:
        ProviderUnavailableError: The model file is missing (checked here).
        ValueError: A parameter is out of range.
    """

    window_ms: float = WINDOW_S * 1000.0

    def __init__(
        self, model_path: str | Path | None = None, *, workers: int = 2, timeout_s: float = 2.0
    ) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError("workers must be at least 1 and timeout_s positive")
        self.model_path = Path(model_path) if model_path is not None else models.smart_turn_onnx()
        if not self.model_path.is_file():
            raise ProviderUnavailableError(
                f"Smart Turn model {self.model_path} missing", port="end_of_turn"
            )
        self.workers = workers
        self.timeout_s = timeout_s
        self._extractor = _features.FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
        self._session: Any = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def predict(self, audio: AudioFrame) -> float:
        """Probability 0..1 that the turn ending ``audio`` is complete (see the module doc).

        Raises:
            InvalidAudioError: ``audio`` is not mono or cannot be resampled to 16 kHz.
            ProviderTimeoutError: No result within ``timeout_s``.
            ProviderUnavailableError: The model did not load, failed, or the detector is closed.
        """
        fmt = audio.format
        if fmt.channels != 1:
            raise InvalidAudioError(f"Smart Turn takes mono audio, got {fmt}")
        check_resample(fmt.sample_rate_hz, 16000)
        if self._closed:
            raise ProviderUnavailableError("SmartTurnDetector is closed", port="end_of_turn")
        # Only the last window (plus a few samples for the resampler) is read.
        keep = (int(self.window_ms * fmt.sample_rate_hz / 1000.0) + 16) * fmt.bytes_per_sample
        data = audio.data[-keep:]
        pcm = convert_frame(AudioFrame(data, fmt), PCM16_16K).data if fmt != PCM16_16K else data
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                return await loop.run_in_executor(self._pool(), self._run, pcm)
        except TimeoutError as exc:
            raise ProviderTimeoutError(
                f"Smart Turn gave no prediction within {self.timeout_s:g} s", port="end_of_turn"
            ) from exc
        except ProviderError:
            raise
        except Exception as exc:  # onnxruntime, numpy, or a shut-down pool
            raise ProviderUnavailableError(f"Smart Turn failed: {exc}", port="end_of_turn") from exc

    def warm_up(self) -> None:
        """Load the model and run one prediction now (blocking; about 0.2 s)."""
        self._run(b"")

    async def health_check(self) -> None:
        """Return when the detector is open (the model file was found at construction).

        Raises:
            ProviderUnavailableError: The detector is closed.
        """
        if self._closed:
            raise ProviderUnavailableError("SmartTurnDetector is closed", port="end_of_turn")

    async def aclose(self) -> None:
        """Stop the prediction threads; idempotent."""
        self._closed = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            await shutdown_pool(executor, 5.0)

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix="smart-turn"
                )
            return self._executor

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                options = _ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 4
                try:
                    self._session = _ort.InferenceSession(
                        str(self.model_path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime's own error types
                    raise ProviderUnavailableError(
                        f"Smart Turn model {self.model_path} did not load: {exc}",
                        port="end_of_turn",
                    ) from exc
            return self._session

    def _run(self, pcm16: bytes) -> float:
        """Worker thread: features of the last 8 s, then the model."""
        session = self._load()
        samples = np.frombuffer(pcm16, dtype="<i2")[-_SAMPLES:].astype(np.float32) / 32768.0
        window: npt.NDArray[np.float32] = np.zeros(_SAMPLES, dtype=np.float32)
        if samples.size:
            window[-samples.size :] = samples
        window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        features = self._extractor(window, padding=0)[:, :_FRAMES]
        (logits,) = session.run(None, {"input_features": features[None].astype(np.float32)})
        return min(1.0, max(0.0, float(np.asarray(logits).reshape(-1)[0])))
