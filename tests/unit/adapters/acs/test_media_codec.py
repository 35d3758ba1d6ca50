"""The ACS media codec: the shapes of "Audio streaming quickstart" and its bidirectional page."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.acs.media_codec import (
    MAX_MESSAGE_BYTES,
    AudioData,
    AudioMetadata,
    DtmfData,
    Framer,
    StopAudio,
    decode_inbound,
    decode_outbound,
    encode_audio,
    encode_audio_metadata,
    encode_dtmf,
    encode_inbound_audio,
    encode_stop_audio,
    frame_bytes,
    tone_to_digit,
)
from adapters.memory import RecordingMetrics
from ports import PCM16_16K, PCM16_24K, AudioFormat


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestInbound:
    def test_audio_metadata_gives_the_stream_format(self) -> None:
        msg = json.dumps(
            {
                "kind": "AudioMetadata",
                "audioMetadata": {
                    "subscriptionId": "s1",
                    "encoding": "PCM",
                    "sampleRate": 24000,
                    "channels": 1,
                    "length": 960,
                },
            }
        )
        assert decode_inbound(msg) == AudioMetadata(PCM16_24K, "s1", 960)

    def test_audio_data_decodes_base64_pcm_and_keeps_participant_and_silent(self) -> None:
        pcm = bytes(range(256)) * 2 + bytes(128)
        msg = json.dumps(
            {
                "kind": "AudioData",
                "audioData": {
                    "timestamp": "2024-05-01T10:00:00.000Z",
                    "participantRawID": "4:+14255550100",
                    "data": b64(pcm),
                    "silent": True,
                },
            }
        )
        assert decode_inbound(msg) == AudioData(
            pcm, "2024-05-01T10:00:00.000Z", "4:+14255550100", True
        )

    def test_audio_data_without_silent_is_not_silent(self) -> None:
        msg = json.dumps({"kind": "AudioData", "audioData": {"data": b64(bytes(640))}})
        decoded = decode_inbound(msg)
        assert isinstance(decoded, AudioData)
        assert decoded.silent is False

    def test_keys_are_matched_case_insensitively(self) -> None:
        msg = json.dumps(
            {"Kind": "AudioData", "AudioData": {"Data": b64(bytes(640)), "ParticipantRawId": "p"}}
        )
        assert decode_inbound(msg) == AudioData(bytes(640), None, "p", False)

    @pytest.mark.parametrize(
        ("data", "digit"), [("3", "3"), ("nine", "9"), ("pound", "#"), ("*", "*")]
    )
    def test_dtmf_data_becomes_one_character(self, data: str, digit: str) -> None:
        assert decode_inbound(json.dumps({"kind": "DtmfData", "dtmfData": {"data": data}})) == (
            DtmfData(digit)
        )

    @pytest.mark.parametrize(
        ("message", "reason"),
        [
            ("{not json", "malformed_json"),
            ("[1, 2]", "malformed_json"),
            ('{"kind": "Hologram"}', "unknown_kind"),
            ('{"data": 1}', "unknown_kind"),
            ('{"kind": "AudioData", "audioData": {"data": "!!!"}}', "bad_base64"),
            ('{"kind": "AudioData", "audioData": {"data": "AAAA"}}', "odd_byte_count"),
            ('{"kind": "AudioData", "audioData": {}}', "invalid_payload"),
            ('{"kind": "AudioData"}', "invalid_payload"),
            ('{"kind": "DtmfData", "dtmfData": {"data": "x"}}', "bad_dtmf"),
            (b"\x00\x01binary", "binary_frame"),
            (
                '{"kind": "AudioData", "audioData": {"data": "' + "A" * MAX_MESSAGE_BYTES + '"}}',
                "too_large",
            ),
        ],
    )
    def test_bad_message_is_dropped_and_counted(self, message: str | bytes, reason: str) -> None:
        metrics = RecordingMetrics()
        assert decode_inbound(message, metrics) is None
        assert metrics.dropped == {reason: 1}


class TestOutbound:
    def test_audio_data_has_the_documented_shape(self) -> None:
        assert json.loads(encode_audio(b"\x01\x02")) == {
            "kind": "AudioData",
            "audioData": {"data": "AQI="},
        }

    def test_stop_audio_has_the_documented_shape(self) -> None:
        assert json.loads(encode_stop_audio()) == {
            "kind": "StopAudio",
            "audioData": None,
            "stopAudio": {},
        }

    def test_outbound_messages_decode_back(self) -> None:
        assert decode_outbound(encode_audio(bytes(960))) == AudioData(bytes(960))
        assert decode_outbound(encode_stop_audio()) == StopAudio()
        assert (
            decode_outbound('{"Kind":"StopAudio","AudioData":null,"StopAudio":{}}') == StopAudio()
        )

    def test_inbound_encoders_round_trip(self) -> None:
        assert decode_inbound(encode_audio_metadata(PCM16_16K)) == AudioMetadata(
            PCM16_16K, "emulated-subscription", 640
        )
        assert decode_inbound(
            encode_inbound_audio(bytes(640), timestamp="t", participant_raw_id="p", silent=None)
        ) == AudioData(bytes(640), "t", "p", False)
        assert decode_inbound(encode_dtmf("#")) == DtmfData("#")


class TestFraming:
    @pytest.mark.parametrize(("fmt", "size"), [(PCM16_16K, 640), (PCM16_24K, 960)])
    def test_a_frame_is_20_ms(self, fmt: AudioFormat, size: int) -> None:
        assert frame_bytes(fmt) == size

    def test_framer_carries_the_remainder_and_pads_the_tail(self) -> None:
        framer = Framer(PCM16_16K)
        assert framer.push(bytes(500)) == []
        frames = framer.push(bytes(1000))
        assert [len(f) for f in frames] == [640, 640]
        assert framer.pending_bytes == 220
        assert framer.flush() == bytes(640)
        assert framer.flush() is None

    def test_tone_names_map_to_digits(self) -> None:
        assert [tone_to_digit(t) for t in ("zero", "asterisk", "a", "7", "zz")] == [
            "0",
            "*",
            "A",
            "7",
            None,
        ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "Kind",
                    "audioData",
                    "AudioData",
                    "data",
                    "dtmfData",
                    "audioMetadata",
                    "sampleRate",
                    "silent",
                    "x",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
kinds = st.sampled_from(["AudioData", "audiodata", "DtmfData", "AudioMetadata", "StopAudio", "?"])


class TestFuzz:
    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.binary(max_size=200), st.text(max_size=200), json_values.map(json.dumps)))
    def test_codec_never_raises_on_arbitrary_input(self, message: str | bytes) -> None:
        metrics = RecordingMetrics()
        inbound = decode_inbound(message, metrics)
        outbound = decode_outbound(message, metrics)
        assert inbound is None or isinstance(inbound, AudioMetadata | AudioData | DtmfData)
        assert outbound is None or isinstance(outbound, AudioData | StopAudio)
        assert "codec_error" not in metrics.dropped

    @settings(max_examples=300, deadline=None)
    @given(kinds, json_values)
    def test_codec_never_raises_on_arbitrary_payloads_of_known_kinds(
        self, kind: str, payload: object
    ) -> None:
        metrics = RecordingMetrics()
        message = json.dumps({"kind": kind, kind: payload, "audioData": payload})
        decoded = decode_inbound(message, metrics)
        if decoded is None:
            assert sum(metrics.dropped.values()) == 1
        assert "codec_error" not in metrics.dropped

    @settings(max_examples=100, deadline=None)
    @given(st.binary(max_size=4000).map(lambda b: b[: len(b) // 2 * 2]))
    def test_any_even_pcm_round_trips(self, pcm: bytes) -> None:
        assert decode_outbound(encode_audio(pcm)) == AudioData(pcm)


def metadata_at(rate: int, channels: int = 1) -> str:
    return json.dumps(
        {
            "kind": "AudioMetadata",
            "audioMetadata": {
                "subscriptionId": "s",
                "encoding": "PCM",
                "sampleRate": rate,
                "channels": channels,
                "length": 640,
            },
        }
    )


class TestOnlyNegotiableFormats:
    @pytest.mark.parametrize("rate", [1, 2, 8000, 22050, 44100, 48000, 192000])
    def test_a_rate_acs_never_negotiates_is_dropped_and_counted(self, rate: int) -> None:
        metrics = RecordingMetrics()
        assert decode_inbound(metadata_at(rate), metrics) is None
        assert metrics.dropped == {"unsupported_format": 1}

    @pytest.mark.parametrize("fmt", [PCM16_16K, PCM16_24K])
    def test_the_two_acs_formats_are_accepted(self, fmt: AudioFormat) -> None:
        decoded = decode_inbound(metadata_at(fmt.sample_rate_hz))
        assert isinstance(decoded, AudioMetadata)
        assert decoded.format == fmt
