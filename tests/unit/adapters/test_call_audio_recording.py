"""Parley's own two-channel WAV: caller left, agent right, on the caller's timeline."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from adapters.audio.call_recording import WavCallRecorder, recording_path
from adapters.memory import tone_frames
from ports import MULAW_8K, PCM16_16K, AudioFrame


def silence(ms: int) -> AudioFrame:
    return AudioFrame(bytes(PCM16_16K.frame_bytes(ms)), PCM16_16K)


def channels(path: str) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(path) as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (2, 2, 16000)
        data = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2").reshape(-1, 2)
    return data[:, 0], data[:, 1]


async def test_agent_audio_lands_where_the_caller_was_when_it_was_sent(tmp_path: Path) -> None:
    recording = WavCallRecorder(tmp_path, flush_ms=100.0).open("call/1", PCM16_16K)
    for _ in range(25):  # 500 ms of caller silence, flushed as it goes
        recording.caller(silence(20))
    for frame in tone_frames(PCM16_16K, 200):
        recording.agent(frame)
    for _ in range(25):
        recording.caller(silence(20))
    ref = await recording.close()
    assert ref.state == "available" and ref.kind == "wav" and ref.duration_ms == 1000.0
    assert Path(ref.location) == recording_path(tmp_path, "call/1") and "/" not in ref.recording_id
    caller, agent = channels(ref.location)
    loud = np.flatnonzero(np.abs(agent) > 1000)
    assert not caller.any()
    # The tone starts at the caller's position when it was sent (500 ms) and lasts 200 ms.
    assert 7900 <= loud[0] <= 8100 and 11000 <= loud[-1] <= 11300


async def test_a_barge_in_drops_the_agent_audio_not_yet_played(tmp_path: Path) -> None:
    recording = WavCallRecorder(tmp_path).open("c", PCM16_16K)
    recording.caller(silence(100))
    for frame in tone_frames(PCM16_16K, 1000):
        recording.agent(frame)  # sent 900 ms ahead of the caller
    recording.agent_cleared()  # StopAudio: the far end drops what it had not played
    recording.caller(silence(400))
    ref = await recording.close()
    _, agent = channels(ref.location)
    assert ref.duration_ms == 500.0 and not agent.any()


async def test_only_pcm16_mono_is_recorded_and_deleting_the_file_is_idempotent(
    tmp_path: Path,
) -> None:
    recorder = WavCallRecorder(tmp_path)
    with pytest.raises(ValueError, match="PCM16"):
        recorder.open("c", MULAW_8K)
    recording = recorder.open("c", PCM16_16K)
    recording.caller(silence(40))
    ref = await recording.close()
    assert Path(ref.location).is_file()
    await recorder.delete(ref)
    await recorder.delete(ref)
    assert not Path(ref.location).exists()
