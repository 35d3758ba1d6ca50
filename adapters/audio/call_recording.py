"""Parley's own call recording: a two-channel WAV per call (``ports.CallAudioRecorder``).

Left channel: the caller; right channel: the agent, on one timeline. The caller's audio is the
clock (ACS and the browser send it continuously, silence included): each agent frame is placed
where the caller's audio is when it is sent, or right after the previous agent frame when the
agent is ahead (the sender runs a little ahead of real time). A barge-in's ``stop_audio``
discards the agent audio placed beyond the caller's position, as the far end does.

The call path only appends to two buffers. When one second of audio is buffered, one flush
task interleaves it (numpy) and appends it to the file in a worker thread (``wave``); the file
is opened on the first flush and its header completed on close. More than ``max_buffer_ms``
waiting (a stalled disk) drops new audio, counted in ``dropped_ms``. A killed process leaves a
file whose header says length 0; every later flush is in it.

Only PCM16 calls are recorded (every ACS and browser format is).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import wave
from pathlib import Path
from typing import Final

import numpy as np

from ports import AudioEncoding, AudioFormat, AudioFrame, StoreError
from ports.call_history import RecordingKind, RecordingRef, RecordingState

logger = logging.getLogger(__name__)

_SAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


def recording_path(directory: Path, call_id: str) -> Path:
    """Where the WAV of ``call_id`` goes (characters unsafe in file names become ``_``)."""
    return directory / f"{_SAFE.sub('_', call_id)[:120] or 'call'}.wav"


class WavCallRecording:
    """One call's WAV in progress (see the module docstring).

    Args:
        path: The file.
        fmt: The call's PCM16 mono format.
        flush_ms: Audio buffered before a flush.
        max_buffer_ms: Audio that may wait for the disk; beyond, new audio is dropped.
    """

    def __init__(
        self,
        path: Path,
        fmt: AudioFormat,
        *,
        flush_ms: float = 1000.0,
        max_buffer_ms: float = 30_000.0,
    ) -> None:
        if fmt.encoding is not AudioEncoding.PCM16 or fmt.channels != 1:
            raise ValueError(f"only PCM16 mono calls are recorded, not {fmt}")
        self.path = path
        self.format = fmt
        self._flush_bytes = fmt.frame_bytes(int(flush_ms))
        self._max_bytes = fmt.frame_bytes(int(max_buffer_ms))
        self._caller = bytearray()
        self._agent = bytearray()
        self._flushed = 0
        """Samples per channel already handed to the file."""
        self._wav: wave.Wave_write | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._error = ""
        self._dropped_bytes = 0

    @property
    def dropped_ms(self) -> float:
        """Audio dropped because the file fell behind, ms."""
        return self.format.duration_ms(self._dropped_bytes)

    def caller(self, frame: AudioFrame) -> None:
        """Append the caller's audio (the timeline's clock)."""
        if self._closed:
            return
        if len(self._caller) >= self._max_bytes:
            self._dropped_bytes += len(frame.data)
            return
        self._caller += frame.data
        if len(self._caller) >= self._flush_bytes and self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_task())

    def agent(self, frame: AudioFrame) -> None:
        """Place agent audio at the caller's position, or after the agent audio before it."""
        if self._closed:
            return
        if len(self._agent) >= self._max_bytes:
            self._dropped_bytes += len(frame.data)
            return
        gap = len(self._caller) - len(self._agent)
        if gap > 0:
            self._agent += bytes(gap)
        self._agent += frame.data

    def agent_cleared(self) -> None:
        """Drop agent audio placed beyond the caller's position (not played by the far end)."""
        if len(self._agent) > len(self._caller):
            del self._agent[len(self._caller) :]

    def _take(self, final: bool) -> bytes:
        """Interleave what can be written: up to the caller's position (everything at close)."""
        n = max(len(self._caller), len(self._agent)) if final else len(self._caller)
        n -= n % 2
        caller = bytes(self._caller[:n]).ljust(n, b"\0")
        agent = bytes(self._agent[:n]).ljust(n, b"\0")
        del self._caller[:n]
        del self._agent[:n]
        if not n:
            return b""
        stereo = np.empty((n // 2, 2), dtype="<i2")
        stereo[:, 0] = np.frombuffer(caller, dtype="<i2")
        stereo[:, 1] = np.frombuffer(agent, dtype="<i2")
        self._flushed += n // 2
        return stereo.tobytes()

    def _write(self, chunk: bytes) -> None:
        if self._wav is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wav = wave.open(str(self.path), "wb")  # noqa: SIM115 (closed in close())
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(self.format.sample_rate_hz)
            self._wav = wav
        if chunk:
            self._wav.writeframes(chunk)

    async def _flush(self, final: bool = False) -> None:
        async with self._lock:
            chunk = self._take(final)
            if self._error:
                return
            try:
                await asyncio.to_thread(self._write, chunk)
            except OSError as exc:
                self._error = f"{type(exc).__name__}: {exc.strerror or exc}"
                logger.warning("own recording %s failed: %s", self.path.name, self._error)

    async def _flush_task(self) -> None:
        try:
            await self._flush()
        finally:
            self._flushing = None

    async def close(self) -> RecordingRef:
        """Write the rest and complete the file's header."""
        self._closed = True
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self._flush(final=True)
        wav, self._wav = self._wav, None
        if wav is not None:
            try:
                await asyncio.to_thread(wav.close)
            except OSError as exc:
                self._error = self._error or f"{type(exc).__name__}"
        duration_ms = self._flushed * 1000.0 / self.format.sample_rate_hz
        state = RecordingState.FAILED if self._error or wav is None else RecordingState.AVAILABLE
        data: dict[str, object] = {
            "channels": ["caller", "agent"],
            "sample_rate_hz": self.format.sample_rate_hz,
        }
        if self._error:
            data["error"] = self._error
        if self._dropped_bytes:
            data["dropped_ms"] = round(self.dropped_ms, 1)
        return RecordingRef(
            kind=RecordingKind.WAV.value,
            recording_id=self.path.name,
            state=state.value,
            location=str(self.path),
            format="wav",
            duration_ms=round(duration_ms, 1),
            data=data,  # type: ignore[arg-type]
        )


class WavCallRecorder:
    """Makes :class:`WavCallRecording` files in one folder.

    Args:
        directory: Where the WAV files go (created when needed).
        flush_ms: Audio buffered per call before a write.
    """

    def __init__(self, directory: Path, *, flush_ms: float = 1000.0) -> None:
        self.directory = directory
        self._flush_ms = flush_ms

    def open(self, call_id: str, fmt: AudioFormat) -> WavCallRecording:
        """A recording of ``call_id``.

        Raises:
            ValueError: ``fmt`` is not PCM16 mono.
        """
        return WavCallRecording(
            recording_path(self.directory, call_id), fmt, flush_ms=self._flush_ms
        )

    async def delete(self, recording: RecordingRef) -> None:
        """Remove the recording's file when it is one of this folder's.

        Raises:
            StoreError: The file exists and could not be removed.
        """
        if recording.kind != RecordingKind.WAV.value or not recording.location:
            return
        path = Path(recording.location)
        inside = await asyncio.to_thread(
            lambda: path.resolve().parent == self.directory.resolve()
        )
        if not inside:
            logger.warning("not deleting %s: outside the recordings folder", path.name)
            return
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise StoreError(f"recording {path.name} not deleted: {exc.strerror}") from exc
