"""The Twilio Media Streams codec: every documented message, and bad input never raises."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import RecordingMetrics
from adapters.twilio.media_codec import (
    Clear,
    Connected,
    Dtmf,
    Mark,
    Media,
    Start,
    Stop,
    decode_inbound,
    decode_outbound,
    encode_clear,
    encode_connected,
    encode_dtmf,
    encode_inbound_media,
    encode_mark,
    encode_mark_echo,
    encode_media,
    encode_start,
    encode_stop,
)

SID = "MZ" + "a" * 32


def test_every_message_twilio_sends_decodes() -> None:
    assert decode_inbound(encode_connected()) == Connected("Call", "1.0.0")
    start = decode_inbound(
        encode_start(stream_sid=SID, call_sid="CA1", account_sid="AC1",
                     custom_parameters={"call_token": "t"})
    )  # fmt: skip
    assert start == Start(SID, "CA1", "AC1", {"call_token": "t"}, True)
    media = encode_inbound_media(SID, b"\xff" * 160, sequence_number=3, chunk=1, timestamp_ms=20)
    assert decode_inbound(media) == Media(b"\xff" * 160, "inbound")
    assert decode_inbound(encode_dtmf(SID, "7", sequence_number=4)) == Dtmf("7")
    assert decode_inbound(encode_mark_echo(SID, "0:100", sequence_number=5)) == Mark("0:100")
    assert decode_inbound(
        encode_stop(SID, call_sid="CA1", account_sid="AC1", sequence_number=6)
    ) == Stop("CA1")


def test_what_we_send_has_the_documented_shape() -> None:
    assert json.loads(encode_media(SID, b"\x00\x01")) == {
        "event": "media", "streamSid": SID, "media": {"payload": "AAE="}
    }  # fmt: skip
    assert json.loads(encode_mark(SID, "m")) == {
        "event": "mark", "streamSid": SID, "mark": {"name": "m"}
    }  # fmt: skip
    assert json.loads(encode_clear(SID)) == {"event": "clear", "streamSid": SID}
    assert decode_outbound(encode_clear(SID)) == Clear()
    assert decode_outbound(encode_media(SID, b"\x01")) == Media(b"\x01", "outbound")


def test_a_start_in_another_format_is_flagged() -> None:
    message = json.loads(
        encode_start(stream_sid=SID, call_sid="CA1", account_sid="AC1", custom_parameters={})
    )
    message["start"]["mediaFormat"]["sampleRate"] = 16000
    start = decode_inbound(json.dumps(message))
    assert isinstance(start, Start) and not start.mulaw_8k


def test_bad_messages_are_dropped_and_counted() -> None:
    metrics = RecordingMetrics()
    bad = [
        b"\x00binary",
        "not json",
        "[]",
        '{"event": "media", "media": {"payload": "***"}}',
        '{"event": "dtmf", "dtmf": {"digit": "x"}}',
        '{"event": "start", "start": {}}',
        '{"event": "nope"}',
        "x" * 70_000,
    ]
    assert [decode_inbound(m, metrics) for m in bad] == [None] * len(bad)
    assert sorted(metrics.dropped.elements()) == sorted(
        [
            "binary_frame", "malformed_json", "unknown_event", "bad_base64", "bad_dtmf",
            "invalid_payload", "unknown_event", "too_large",
        ]
    )  # fmt: skip


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_decoding_never_raises(message: str | bytes) -> None:
    decode_inbound(message)
    decode_outbound(message)


@given(
    st.dictionaries(
        st.sampled_from(["event", "media", "start", "mark", "dtmf", "stop"]),
        st.one_of(
            st.text(max_size=20),
            st.integers(),
            st.none(),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8)),
        ),
    )
)
def test_decoding_any_json_object_never_raises(obj: dict[str, object]) -> None:
    decode_inbound(json.dumps(obj))
