"""The realtime decoder's fast audio path gives the same answers as the general one."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.realtime.wire import Decoder, Malformed, append_audio
from ports import PCM16_24K
from ports.realtime import ResponseAudio


def _delta(**fields: object) -> bytes:
    return json.dumps({"type": "response.audio.delta", **fields}).encode()


@given(st.binary(max_size=600).map(lambda b: b[: len(b) // 2 * 2]))
def test_an_audio_delta_decodes_to_its_pcm_in_the_call_format(pcm: bytes) -> None:
    event = Decoder(PCM16_24K).decode(
        _delta(response_id="resp_1", item_id="item_1", delta=base64.b64encode(pcm).decode())
    )
    assert event == ResponseAudio("resp_1", "item_1", event.frame)  # type: ignore[union-attr]
    assert event.frame.data == pcm  # type: ignore[union-attr]
    assert event.frame.format == PCM16_24K  # type: ignore[union-attr]


def test_base64_the_fast_decoder_refuses_gets_the_standard_librarys_verdict() -> None:
    # Excess padding: pybase64 refuses it, the standard library accepts it.
    event = Decoder(PCM16_24K).decode(_delta(response_id="r", delta="AAAAAAAA===="))
    assert isinstance(event, ResponseAudio)
    assert event.frame.data == base64.b64decode("AAAAAAAA====", validate=True)


@pytest.mark.parametrize(
    "fields",
    [
        {"response_id": "r", "delta": "AA!A"},  # not base64
        {"response_id": "r", "delta": "AAé="},  # not ASCII
        {"response_id": 7, "delta": "AAAA"},  # a number where the id is a string
        {"response_id": "r", "item_id": None, "delta": "AAAA"},
        {"delta": "AAAA"},  # no response id
        {"response_id": "r", "delta": "AA=="},  # an odd number of PCM16 bytes
    ],
)
def test_an_invalid_audio_delta_is_malformed(fields: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        Decoder(PCM16_24K).decode(_delta(**fields))


def test_json_the_fast_parser_refuses_gets_the_standard_librarys_verdict() -> None:
    # NaN is not JSON (orjson refuses it); the standard library reads it, so the event is
    # judged on its fields as before: here an unknown type.
    with pytest.raises(Malformed, match="unknown type"):
        Decoder(PCM16_24K).decode(b'{"type": "x.y", "value": NaN}')
    with pytest.raises(Malformed, match="not JSON"):
        Decoder(PCM16_24K).decode(b'{"type": ')


def test_an_append_carries_the_audio_as_standard_base64() -> None:
    pcm = bytes(range(256)) * 8
    event = append_audio(pcm)
    assert event == {
        "type": "input_audio_buffer.append",
        "audio": base64.b64encode(pcm).decode("ascii"),
    }
    assert type(event["audio"]) is str
