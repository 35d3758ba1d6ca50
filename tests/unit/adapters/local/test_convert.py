"""Audio conversion: resampling, mu-law, mixdown, frame conversion and WAV helpers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.audio import (
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
from ports import MULAW_8K, PCM16_16K, PCM16_24K, AudioFormat, AudioFrame, InvalidAudioError

RATES = (8000, 16000, 24000, 48000)
pcm_samples = st.lists(st.integers(-32768, 32767), max_size=400)


def pcm(values: list[int] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.int64)


def tone(rate: int, ms: int, hz: float = 440.0) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return pcm((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16))


class TestMulaw:
    def test_mulaw_matches_g711_reference_points(self) -> None:
        assert mulaw_encode(pcm([0])) == b"\xff"
        assert list(samples(mulaw_decode(bytes([0xFF, 0x7F, 0x00, 0x80])))) == [
            0,
            0,
            -32124,
            32124,
        ]

    @given(pcm_samples)
    def test_mulaw_encode_gives_one_byte_per_sample(self, values: list[int]) -> None:
        assert len(mulaw_encode(pcm(values))) == len(values)

    @given(pcm_samples)
    def test_mulaw_round_trip_error_is_within_half_a_segment_step(self, values: list[int]) -> None:
        decoded = samples(mulaw_decode(mulaw_encode(pcm(values))))
        original = np.asarray(values, dtype=np.int64)
        clipped = np.clip(original, -32124, 32124)
        # G.711 steps double per segment: the error never exceeds 1/32 of the magnitude + 8,
        # apart from clipping above 32124.
        assert np.all(np.abs(decoded - clipped) <= np.abs(clipped) // 32 + 8)
        assert np.all(np.sign(decoded) * np.sign(original) >= 0)

    @given(st.binary(max_size=300))
    def test_mulaw_decode_then_encode_is_identity_except_negative_zero(self, data: bytes) -> None:
        again = mulaw_encode(mulaw_decode(data))
        expected = bytes(0xFF if b == 0x7F else b for b in data)  # -0 and +0 both decode to 0
        assert again == expected

    def test_mulaw_encode_rejects_an_odd_byte_count(self) -> None:
        with pytest.raises(InvalidAudioError):
            mulaw_encode(b"\x00\x01\x02")


class TestResampler:
    @settings(max_examples=40, deadline=None)
    @given(
        st.sampled_from(RATES),
        st.sampled_from(RATES),
        st.lists(st.integers(0, 60), min_size=1, max_size=30),
    )
    def test_resampled_stream_length_follows_the_rate_ratio(
        self, in_hz: int, out_hz: int, chunk_ms: list[int]
    ) -> None:
        resampler = Resampler(in_hz, out_hz)
        total_in = 0
        total_out = 0
        for ms in chunk_ms:
            chunk = tone(in_hz, ms)
            total_in += len(chunk) // 2
            total_out += len(resampler.process(chunk)) // 2
        total_out += len(resampler.flush()) // 2
        expected = total_in * out_hz / in_hz
        assert abs(total_out - expected) <= 2

    @pytest.mark.parametrize(("in_hz", "out_hz"), [(8000, 16000), (24000, 16000), (16000, 8000)])
    def test_resampler_holds_back_at_most_half_a_millisecond(self, in_hz: int, out_hz: int) -> None:
        resampler = Resampler(in_hz, out_hz)
        out = resampler.process(tone(in_hz, 20))
        assert len(out) // 2 >= out_hz * 20 // 1000 - out_hz // 2000

    def test_resampling_a_stream_in_frames_has_no_clicks_at_frame_edges(self) -> None:
        resampler = Resampler(24000, 16000)
        long_tone = tone(24000, 400)
        joined = b"".join(resampler.process(long_tone[i : i + 960]) for i in range(0, 19200, 960))
        wave = samples(joined)[100:]
        # A 440 Hz tone at 8000 amplitude moves at most ~1400 per 16 kHz sample.
        assert np.max(np.abs(np.diff(wave))) < 1600

    def test_same_rate_is_passthrough(self) -> None:
        data = tone(16000, 20)
        assert Resampler(16000, 16000).process(data) == data

    def test_resampler_rejects_a_partial_sample(self) -> None:
        with pytest.raises(InvalidAudioError):
            Resampler(8000, 16000).process(b"\x00")

    @pytest.mark.parametrize(
        ("in_hz", "out_hz"),
        [(22050, 2), (22050, 1), (1, 16000), (2, 16000), (16000, 0), (8000, 400_000)],
    )
    def test_resampler_refuses_an_absurd_rate_or_ratio_with_a_clear_error(
        self, in_hz: int, out_hz: int
    ) -> None:
        with pytest.raises(InvalidAudioError, match="Hz"):
            Resampler(in_hz, out_hz)

    def test_format_converter_refuses_an_absurd_ratio_before_any_audio(self) -> None:
        with pytest.raises(InvalidAudioError, match="ratio"):
            FormatConverter(AudioFormat(8000), AudioFormat(384_000))
        with pytest.raises(InvalidAudioError, match="ratio"):
            FormatConverter(AudioFormat(1000), AudioFormat(48000))

    @pytest.mark.parametrize(("in_hz", "out_hz"), [(8000, 192000), (192000, 8000), (22050, 8000)])
    def test_every_real_pair_is_still_accepted(self, in_hz: int, out_hz: int) -> None:
        assert len(Resampler(in_hz, out_hz).process(bytes(4000))) > 0


class TestMixdownAndFrames:
    @given(st.lists(st.tuples(st.integers(-32768, 32767), st.integers(-32768, 32767))))
    def test_mixdown_averages_channels(self, pairs: list[tuple[int, int]]) -> None:
        flat = [v for pair in pairs for v in pair]
        mono = samples(to_mono(pcm(flat), 2))
        assert len(mono) == len(pairs)
        for got, (left, right) in zip(mono, pairs, strict=True):
            assert abs(got - (left + right) / 2) <= 0.5

    def test_converter_turns_24k_pcm_into_8k_mulaw_frames_and_back(self) -> None:
        down = FormatConverter(PCM16_24K, MULAW_8K)
        up = FormatConverter(MULAW_8K, PCM16_24K)
        out_bytes = 0
        for i in range(50):
            frame = AudioFrame(tone(24000, 20), PCM16_24K, i * 20.0)
            small = down.convert(frame)
            assert small.format == MULAW_8K
            assert small.timestamp_ms == frame.timestamp_ms
            out_bytes += len(up.convert(small).data)
        assert abs(out_bytes // 2 - 50 * 480) <= 8

    def test_converter_rejects_a_frame_in_another_format(self) -> None:
        with pytest.raises(InvalidAudioError, match="does not match"):
            FormatConverter(PCM16_16K, MULAW_8K).convert(AudioFrame(b"\x00" * 960, PCM16_24K))

    def test_converter_refuses_to_invent_channels(self) -> None:
        with pytest.raises(InvalidAudioError):
            FormatConverter(PCM16_16K, AudioFormat(16000, 2))

    def test_identity_conversion_returns_the_same_frame(self) -> None:
        frame = AudioFrame(tone(16000, 20), PCM16_16K, 40.0)
        assert FormatConverter(PCM16_16K, PCM16_16K).convert(frame) is frame

    def test_split_frames_cuts_20_ms_frames_with_advancing_timestamps(self) -> None:
        clip = AudioFrame(tone(16000, 1010), PCM16_16K)
        frames = split_frames(clip, 20)
        assert [f.timestamp_ms for f in frames[:3]] == [0.0, 20.0, 40.0]
        assert all(len(f.data) == 640 for f in frames[:-1])
        assert frames[-1].duration_ms == pytest.approx(10.0)
        assert len(split_frames(clip, 20, pad=True)[-1].data) == 640


class TestWav:
    @pytest.mark.parametrize("width", [1, 2, 3, 4])
    def test_read_wav_takes_any_width_rate_and_channels(self, width: int) -> None:
        import wave

        buffer = io.BytesIO()
        rate, n = 44100, 4410
        t = np.arange(n) / rate
        wave_values = 0.25 * np.sin(2 * np.pi * 440 * t)
        stereo = np.repeat(wave_values, 2)
        if width == 1:
            raw = (stereo * 127 + 128).astype(np.uint8).tobytes()
        elif width == 2:
            raw = (stereo * 32767).astype("<i2").tobytes()
        elif width == 3:
            ints = (stereo * 8388607).astype("<i4")
            raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
        else:
            raw = (stereo * 2147483647).astype("<i4").tobytes()
        with wave.open(buffer, "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(width)
            wav.setframerate(rate)
            wav.writeframes(raw)
        frame = read_wav(buffer.getvalue(), PCM16_16K)
        assert frame.format == PCM16_16K
        assert abs(len(frame.data) // 2 - 1600) <= 2
        peak = np.max(np.abs(samples(frame.data)))
        assert 7000 < peak < 9000

    def test_write_then_read_wav_round_trips_pcm(self, tmp_path) -> None:
        frame = AudioFrame(tone(24000, 100), PCM16_24K)
        write_wav(tmp_path / "x.wav", [frame])
        assert read_wav(tmp_path / "x.wav") == frame

    def test_write_wav_decodes_mulaw(self) -> None:
        buffer = io.BytesIO()
        write_wav(buffer, AudioFrame(b"\xff" * 160, MULAW_8K))
        assert read_wav(buffer.getvalue()).data == b"\x00" * 320

    def test_read_wav_frames_gives_20_ms_frames_in_the_target_format(self) -> None:
        buffer = io.BytesIO()
        write_wav(buffer, AudioFrame(tone(48000, 200), AudioFormat(48000)))
        frames = read_wav_frames(buffer.getvalue(), MULAW_8K)
        assert len(frames) == 10
        assert all(f.format == MULAW_8K and len(f.data) == 160 for f in frames)

    def test_read_wav_names_a_file_that_is_not_wav(self) -> None:
        with pytest.raises(InvalidAudioError, match="not a PCM WAV"):
            read_wav(b"RIFF....nonsense")

    def test_convert_frame_flushes_the_tail(self) -> None:
        frame = AudioFrame(tone(8000, 1000), AudioFormat(8000))
        out = convert_frame(frame, PCM16_16K)
        assert abs(len(out.data) // 2 - 16000) <= 2
