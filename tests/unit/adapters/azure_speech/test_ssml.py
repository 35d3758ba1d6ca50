"""SSML building: voice, style, rate and pitch, with the caller's text escaped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.azure_speech.ssml import build_ssml
from ports import Voice
from tests.emulators.speech_standin import parse_ssml

# XML 1.0 forbids most control characters; the adapter's input is spoken text.
_xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=80,
)


def test_ssml_carries_voice_style_rate_and_pitch():
    ssml = build_ssml(
        "Hi",
        Voice(name="en-GB-SoniaNeural", language="en-GB", style="cheerful", rate=1.2, pitch=-5),
        "default",
    )
    parsed = parse_ssml(ssml)
    assert parsed.voice == "en-GB-SoniaNeural"
    assert parsed.language == "en-GB"
    assert parsed.style == "cheerful"
    assert parsed.rate == "+20.00%"
    assert parsed.pitch == "-5.00%"
    assert parsed.text == "Hi"


def test_default_voice_is_used_when_none_is_named():
    assert parse_ssml(build_ssml("Hi", Voice(), "en-US-AvaMultilingualNeural")).voice == (
        "en-US-AvaMultilingualNeural"
    )


def test_markup_in_text_is_spoken_not_obeyed():
    text = "<break time='5s'/> & \"quotes\" <voice name='evil'>x</voice>"
    parsed = parse_ssml(build_ssml(text, Voice(), "v"))
    assert parsed.text == text
    assert parsed.voice == "v"


@given(text=_xml_text, style=st.one_of(st.none(), _xml_text.filter(bool)))
def test_any_text_round_trips_through_ssml(text: str, style: str | None):
    parsed = parse_ssml(build_ssml(text, Voice(style=style), "v"))
    assert parsed.text == text.replace("\r\n", "\n").replace("\r", "\n")
