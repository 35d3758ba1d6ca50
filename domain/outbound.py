"""Outbound calls: is a person or an answering machine on the line?

Call Automation has no answering-machine detection, so the conversation screens the callee's
first utterance itself: a person answers with a short greeting ("Hello?", "Hi, this is Ana"),
a voicemail greeting is long and worded like one ("... is not available, please leave a
message after the tone"). The first utterance lasts until the callee has been quiet for
``after_greeting_silence_ms``: a greeting's pause between sentences, long enough for the VAD to
report a stop and the recogniser a final, does not end it. It is a machine as soon as its words
say so or its speech runs past ``human_max_greeting_ms``, and a person only once it has ended
short; a callee who says nothing for ``first_speech_timeout_ms`` is taken for a person waiting
for us to speak. A machine's greeting
is followed by a beep (reported by the runtime's beep detector as ``BeepDetected``); the
agent's voicemail message starts at the beep, or ``beep_timeout_ms`` after the greeting went
quiet when no beep came.

The field names follow the usual answering-machine-detection settings (initial silence, greeting
length, word count, silence after the greeting; Twilio's ``MachineDetectionSpeechThreshold``,
``MachineDetectionSpeechEndThreshold`` and ``MachineDetectionSilenceTimeout`` are the same
ideas: "Answering Machine Detection",
https://www.twilio.com/docs/voice/answering-machine-detection).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.words import transcript_words

DEFAULT_MACHINE_PHRASES: tuple[str, ...] = (
    "leave a message",
    "leave your message",
    "leave your name",
    "after the tone",
    "after the beep",
    "not available",
    "unavailable",
    "can't take your call",
    "cannot take your call",
    "can't come to the phone",
    "voicemail",
    "voice mail",
    "mailbox",
    "record your message",
    "at the tone",
)
"""Phrases of voicemail greetings; matched on lower-case words, punctuation ignored."""


class AnsweredBy(StrEnum):
    """Who answered an outbound call (``CallStatus.answered_by``).

    SCREENING: not known yet (the callee's first words are awaited). HUMAN: a person.
    MACHINE: an answering machine or voicemail greeting.
    """

    SCREENING = "screening"
    HUMAN = "human"
    MACHINE = "machine"


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """How an outbound call screens the callee and leaves a voicemail.

    Attributes:
        detect_voicemail: Screen the callee's first utterance; False greets at once.
        first_speech_timeout_ms: No speech from the callee for this long after the call
            connected: a person waiting for us (the agent greets). Default 4000.
        human_max_greeting_ms: A first utterance longer than this, ms from its VAD onset, is a
            machine's greeting (people answer in one or two seconds). Default 2500.
        machine_min_words: A first utterance with at least this many words is a machine's
            greeting. Default 8.
        machine_phrases: A first utterance containing one of these is a machine's greeting.
        beep_timeout_ms: After a machine's greeting has gone quiet, leave the message this long
            later even without a beep. Default 3000.
        after_greeting_silence_ms: The callee's first utterance has ended when they stay quiet
            this long after the VAD reported their end of speech (which itself follows
            ``PARLEY_RUNTIME_SPEECH_STOP_MS`` of silence); a shorter pause, like the one
            between a voicemail greeting's sentences, continues it. A person is greeted this
            long after their "Hello?" at the earliest. Default 800.
    """

    detect_voicemail: bool = True
    first_speech_timeout_ms: float = 4000.0
    human_max_greeting_ms: float = 2500.0
    machine_min_words: int = 8
    machine_phrases: tuple[str, ...] = DEFAULT_MACHINE_PHRASES
    beep_timeout_ms: float = 3000.0
    after_greeting_silence_ms: float = 800.0

    def has_machine_phrase(self, transcript: str) -> bool:
        """True when ``transcript`` holds one of :attr:`machine_phrases` (whole words)."""
        joined = " " + " ".join(transcript_words(transcript)) + " "
        return any(
            " " + " ".join(transcript_words(phrase)) + " " in joined
            for phrase in self.machine_phrases
        )

    def classify(self, speech_ms: float, transcript: str) -> AnsweredBy:
        """Decide from the callee's first utterance.

        Args:
            speech_ms: How long the utterance has lasted, ms from its VAD onset.
            transcript: Its words so far (a final, or the latest partial).

        Returns:
            ``MACHINE`` when it is long, wordy or worded like a voicemail greeting, else
            ``HUMAN``.
        """
        if self.has_machine_phrase(transcript):
            return AnsweredBy.MACHINE
        long_speech = speech_ms > self.human_max_greeting_ms
        if long_speech or len(transcript_words(transcript)) >= self.machine_min_words:
            return AnsweredBy.MACHINE
        return AnsweredBy.HUMAN
