"""Audio boundary values: frames know their duration and refuse partial samples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ports import MULAW_8K, PCM16_16K, PCM16_24K, AudioFormat, AudioFrame, InvalidAudioError


def test_a_20_ms_acs_frame_is_640_bytes_at_16k_and_960_at_24k() -> None:
    assert PCM16_16K.frame_bytes(20) == 640
    assert PCM16_24K.frame_bytes(20) == 960
    assert MULAW_8K.frame_bytes(20) == 160


def test_frame_duration_is_derived_from_its_bytes_and_format() -> None:
    assert AudioFrame(b"\0" * 640, PCM16_16K).duration_ms == 20.0
    assert AudioFrame(b"\0" * 960, PCM16_24K).duration_ms == 20.0
    assert AudioFrame(b"\0" * 160, MULAW_8K).duration_ms == 20.0


def test_an_odd_byte_count_for_pcm16_is_refused_with_a_port_error() -> None:
    with pytest.raises(InvalidAudioError, match="641 bytes"):
        AudioFrame(b"\0" * 641, PCM16_16K)


def test_invalid_audio_is_also_a_value_error_for_generic_callers() -> None:
    with pytest.raises(ValueError, match="positive"):
        AudioFormat(0)


@given(st.integers(min_value=0, max_value=4000), st.sampled_from([8000, 16000, 24000, 48000]))
def test_duration_and_frame_bytes_agree(n_samples: int, rate: int) -> None:
    fmt = AudioFormat(rate)
    frame = AudioFrame(b"\0" * (2 * n_samples), fmt)
    assert frame.duration_ms == pytest.approx(n_samples * 1000 / rate)
