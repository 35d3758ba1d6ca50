"""SSML for Azure neural voices: voice, speaking style, rate and pitch, with escaped text.

Shape (Speech service docs, "Speech Synthesis Markup Language (SSML) overview", "Voice and
sound with SSML": ``<voice name>``, ``<mstts:express-as style>``, ``<prosody rate pitch>``;
relative values as signed percentages, e.g. ``+10.00%``)::

    <speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"
           xmlns:mstts="http://www.w3.org/2001/mstts" xml:lang="en-US">
      <voice name="en-US-AvaMultilingualNeural">
        <mstts:express-as style="cheerful"><prosody rate="+10.00%" pitch="-5.00%">
          text</prosody></mstts:express-as></voice></speak>

The caller's text is XML-escaped (``& < > " '``), so text can never inject markup.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ports import Voice

_ENTITIES = {'"': "&quot;", "'": "&apos;"}


def _percent(value: float) -> str:
    return f"{value:+.2f}%"


def build_ssml(text: str, voice: Voice, default_voice: str) -> str:
    """The SSML document that speaks ``text`` with ``voice``.

    Args:
        text: Plain text (escaped here).
        voice: Voice name (``None``: ``default_voice``), language, style, rate (1.0 normal;
            sent as a relative percentage) and pitch (percent change).
        default_voice: Voice used when ``voice.name`` is ``None``.

    Returns:
        A complete ``<speak>`` document as one line.
    """
    body = escape(text, _ENTITIES)
    if voice.rate != 1.0 or voice.pitch != 0.0:
        attrs = ""
        if voice.rate != 1.0:
            attrs += f" rate={quoteattr(_percent((voice.rate - 1.0) * 100.0))}"
        if voice.pitch != 0.0:
            attrs += f" pitch={quoteattr(_percent(voice.pitch))}"
        body = f"<prosody{attrs}>{body}</prosody>"
    if voice.style:
        body = f"<mstts:express-as style={quoteattr(voice.style)}>{body}</mstts:express-as>"
    name = quoteattr(voice.name or default_voice)
    return (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"'
        ' xmlns:mstts="http://www.w3.org/2001/mstts"'
        f" xml:lang={quoteattr(voice.language)}><voice name={name}>{body}</voice></speak>"
    )


__all__ = ["build_ssml"]
