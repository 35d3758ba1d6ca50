"""Conversation policies: small frozen values with documented defaults.

Each policy is a value plus, where it decides something, one pure decision method that takes
domain values (milliseconds, transcript text) and returns a decision: the shape of pipecat's
``turns/user_start/min_words_user_turn_start_strategy.py``, without frames, logging or a clock
of its own. Field names follow LiveKit's ``voice/turn.py`` interruption and endpointing options
(min speech duration, min words, false-interruption timeout, resume) so users recognise them.

Time is always in milliseconds (monotonic, as carried by :mod:`domain.events`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.outbound import OutboundPolicy
from domain.words import transcript_words

__all__ = [
    "DEFAULT_BACKCHANNEL_WORDS",
    "BargeInPolicy",
    "ConversationPolicy",
    "DtmfPolicy",
    "EndpointingPolicy",
    "FailurePolicy",
    "HandoffPolicy",
    "NoInputPolicy",
    "OutboundPolicy",
    "SpeechPolicy",
    "ToolPolicy",
    "sentence_ending",
    "transcript_words",
]

DEFAULT_BACKCHANNEL_WORDS: tuple[str, ...] = (
    "uh-huh",
    "mm-hmm",
    "mhm",
    "hmm",
    "yeah",
    "yep",
    "okay",
    "ok",
    "right",
    "sure",
)
"""Words a caller says to show they are listening, not to take the turn."""


@dataclass(frozen=True, slots=True)
class BargeInPolicy:
    """When caller speech interrupts the agent (barge-in), and what happens after.

    Attributes:
        min_speech_ms: Minimum duration of caller speech, ms from the VAD onset, before it may
            interrupt (LiveKit ``min_interruption_duration``). Default 300.
        min_words: When > 0, the partial transcript must also hold at least this many words
            (LiveKit ``min_interruption_words``). Default 0 (duration alone decides).
        backchannel_words: A transcript made only of these words never interrupts
            ("uh-huh", "yeah", "okay", "mm-hmm"...). Matching ignores case and punctuation.
        false_interruption_timeout_ms: After a barge-in, if no final transcript with words
            follows within this many ms, the interruption was false (LiveKit
            ``false_interruption_timeout``). Default 2000.
        resume_false_interruption: Speak the unplayed rest again after a false interruption
            (LiveKit ``resume_false_interruption``). Default True.
    """

    min_speech_ms: float = 300.0
    min_words: int = 0
    backchannel_words: tuple[str, ...] = DEFAULT_BACKCHANNEL_WORDS
    false_interruption_timeout_ms: float = 2000.0
    resume_false_interruption: bool = True
    _backchannel: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: set[str] = set()
        for entry in self.backchannel_words:
            parts.update(transcript_words(entry))
        object.__setattr__(self, "_backchannel", frozenset(parts))

    def is_backchannel(self, transcript: str) -> bool:
        """True when ``transcript`` has words and every one is a backchannel word."""
        words = transcript_words(transcript)
        return bool(words) and all(word in self._backchannel for word in words)

    def should_interrupt(self, speech_ms: float, transcript: str) -> bool:
        """Decide whether caller speech interrupts interruptible agent speech.

        Args:
            speech_ms: How long the caller has been speaking, ms since the VAD onset.
            transcript: The latest partial (or final) transcript of that speech; ``""`` when
                none has arrived yet.

        Returns:
            True when the speech is long enough, has enough words (if ``min_words`` > 0) and
            is not made only of backchannel words.
        """
        if speech_ms < self.min_speech_ms:
            return False
        words = transcript_words(transcript)
        if words and all(word in self._backchannel for word in words):
            return False
        return self.min_words <= 0 or len(words) >= self.min_words


@dataclass(frozen=True, slots=True)
class EndpointingPolicy:
    """How final transcripts become user turns (end of turn).

    With an end-of-turn model (``ports.EndOfTurnDetector``, optional), each pause the VAD
    reports is judged: a final after a pause judged complete is taken at once; a final after
    a pause judged incomplete is held until the caller goes on (their next final joins it)
    or until a silence that depends on how the final transcript ends (LiveKit's
    ``max_endpointing_delay`` and turn detector ``unlikely_threshold``; Vapi's transcription
    endpointing plan waits less after punctuation in the same way). Without a model a final
    is taken at once; one that arrives before its pause's judgement waits for it, at most
    ``judgement_wait_ms``.

    The acoustic model and the recogniser's punctuation are two opinions: the model hears
    intonation but scores some finished questions low (Smart Turn v3 gives "What's the
    weather like?" 0.02-0.1, see ``docs/adr/0013-endpointing-model-and-punctuation.md``); a
    recogniser that punctuates (Whisper, Azure Speech) writes a question mark only when the
    words form a question, so a question is answered at once. A full stop proves less:
    Whisper ends nearly every fragment with one ("Thank you.", "...can do for you.", "Not!"),
    so by default it waits as long as no punctuation; a recogniser whose full stops can be
    trusted may lower ``sentence_endpointing_delay_ms``.

    Attributes:
        end_of_turn_grace_ms: A final transcript ends the user turn and the response starts
            at once; another final within this many ms of the previous one (before the
            response has spoken) is merged into the same turn and the response restarts.
            After the grace window the turn is sealed and its transcript line emitted.
            0 seals at once (no merging). Default 500.
        unlikely_threshold: An end-of-turn probability below this means "incomplete".
            Default 0.5.
        max_endpointing_delay_ms: Longest silence, ms from the VAD end of speech, before a
            turn judged incomplete is taken anyway; the wait when its final does not end a
            sentence. 0 never holds. Default 1500.
        sentence_endpointing_delay_ms: The wait, ms from the VAD end of speech, for a turn
            judged incomplete whose final ends with a full stop or an exclamation mark (not
            an ellipsis, not a figure). Default 1500, as ``max_endpointing_delay_ms``: on the
            shared clips 5 of the 6 pauses whose Whisper final ended so and that Smart Turn
            judged incomplete were mid-turn, one followed by 1 s of silence ("ask not... what
            your country").
        question_endpointing_delay_ms: The wait, ms from the VAD end of speech, for a turn
            judged incomplete whose final ends with a question mark. Default 0 (at once).
        judgement_wait_ms: Longest wait, ms from a final, for the end-of-turn model's
            judgement of its pause when the final arrives first (a loaded machine: the
            judgement normally comes 60-100 ms after the pause, the final 200-300 ms after
            it); then the final is taken as without a model. Default 500. Without the wait
            a fragment ("Bye.", "Thank you.") whose judgement was late was taken as the
            turn at once.

    Raises:
        ValueError: A delay is negative or the threshold is outside 0..1 (names the field).
    """

    end_of_turn_grace_ms: float = 500.0
    unlikely_threshold: float = 0.5
    max_endpointing_delay_ms: float = 1500.0
    sentence_endpointing_delay_ms: float = 1500.0
    question_endpointing_delay_ms: float = 0.0
    judgement_wait_ms: float = 500.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.unlikely_threshold <= 1.0:
            raise ValueError(
                f"EndpointingPolicy.unlikely_threshold must be in 0..1, got"
                f" {self.unlikely_threshold}"
            )
        for name in (
            "max_endpointing_delay_ms",
            "sentence_endpointing_delay_ms",
            "question_endpointing_delay_ms",
            "judgement_wait_ms",
        ):
            value = getattr(self, name)
            if not value >= 0.0:
                raise ValueError(f"EndpointingPolicy.{name} must be >= 0, got {value}")

    def merges(self, previous_final_ms: float, final_ms: float) -> bool:
        """True when a final at ``final_ms`` joins the turn whose last final was earlier."""
        return final_ms - previous_final_ms <= self.end_of_turn_grace_ms

    def hold_ms(self, probability: float | None, silence_ms: float, text: str = "") -> float:
        """How much longer to wait before taking the turn; 0 means take it now.

        Args:
            probability: The end-of-turn model's probability for the current pause, or None
                when there is no model (or no judgement yet).
            silence_ms: Silence so far, ms since the VAD end of speech.
            text: The turn's final transcript so far (its ending chooses the wait).

        Returns:
            0 when the turn counts as complete (or no model judged it); otherwise what is
            left of the wait :meth:`incomplete_delay_ms` gives for ``text`` (never negative).
        """
        if probability is None or probability >= self.unlikely_threshold:
            return 0.0
        return max(0.0, self.incomplete_delay_ms(text) - silence_ms)

    def incomplete_delay_ms(self, text: str) -> float:
        """The silence, ms from the VAD end of speech, a turn judged incomplete waits.

        ``question_endpointing_delay_ms`` after a question mark, ``sentence_endpointing_
        delay_ms`` after a full stop or exclamation mark (neither an ellipsis nor right after
        a figure: callers read numbers in chunks and recognisers punctuate each chunk), else
        ``max_endpointing_delay_ms``; never more than ``max_endpointing_delay_ms``.
        """
        ending = sentence_ending(text)
        if ending == "?":
            delay = self.question_endpointing_delay_ms
        elif ending == ".":
            delay = self.sentence_endpointing_delay_ms
        else:
            delay = self.max_endpointing_delay_ms
        return min(delay, self.max_endpointing_delay_ms)


_CLOSERS = "\"')]}\u201d\u2019 \t\r\n"
"""Closing quotes, brackets and spaces that may follow a sentence's final mark."""


def sentence_ending(text: str) -> str:
    """How a transcript ends: ``"?"`` (a question), ``"."`` (a sentence) or ``""`` (neither).

    ``"!"`` counts as ``"."``. An ellipsis (``...`` or ``\u2026``), a comma or no mark at all is
    ``""``, and so is a full stop right after a figure ("my number is 0401.": the caller may
    be reading it in chunks). Closing quotes and brackets after the mark are skipped.
    """
    end = text.rstrip(_CLOSERS)
    if not end:
        return ""
    mark = end[-1]
    if mark == "?":
        return "?"
    if mark not in ".!" or end.endswith("..") or len(end) < 2:
        return ""
    before = end[-2]
    return "" if before.isdigit() or before == "\u2026" else "."


@dataclass(frozen=True, slots=True)
class NoInputPolicy:
    """What happens when the caller says nothing after the agent finished speaking.

    Attributes:
        no_input_timeout_ms: Silence after the agent's speech ends before a reprompt, ms.
            Default 8000.
        max_reprompts: Reprompts before the agent says goodbye and hangs up. Default 2.
    """

    no_input_timeout_ms: float = 8000.0
    max_reprompts: int = 2

    def should_reprompt(self, reprompts_so_far: int) -> bool:
        """True to reprompt once more, False to say goodbye and hang up."""
        return reprompts_so_far < self.max_reprompts


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """Limits on tool calls.

    Attributes:
        max_tool_rounds: Model rounds that may request tools within one user turn; one more
            ends the turn with the agent's apology line. Default 5.
        tool_timeout_ms: Deadline per tool call, ms (carried on ``RunTool``). Default 5000.
    """

    max_tool_rounds: int = 5
    tool_timeout_ms: float = 5000.0

    def allows_round(self, rounds_so_far: int) -> bool:
        """True when another tool round fits in the current turn."""
        return rounds_so_far < self.max_tool_rounds


@dataclass(frozen=True, slots=True)
class HandoffPolicy:
    """Limits on agent handoffs.

    Attributes:
        max_handoffs_per_turn: Handoffs allowed within one user turn; stops A->B->A loops.
            Default 2.
    """

    max_handoffs_per_turn: int = 2

    def allows_handoff(self, handoffs_so_far: int) -> bool:
        """True when another handoff fits in the current turn."""
        return handoffs_so_far < self.max_handoffs_per_turn


@dataclass(frozen=True, slots=True)
class DtmfPolicy:
    """How DTMF digits become a user turn.

    Attributes:
        inter_digit_timeout_ms: Pause after the last digit that submits the collected digits,
            ms. Default 3000.
        submit_key: Key that submits the digits. Default ``#``.
        clear_key: Key that clears the digits. Default ``*``.
        max_digits: Digits kept at most (older ones are dropped). Default 32.
    """

    inter_digit_timeout_ms: float = 3000.0
    submit_key: str = "#"
    clear_key: str = "*"
    max_digits: int = 32


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    """What happens when providers keep failing.

    Attributes:
        max_consecutive_failures: Failed responses or provider failures in a row, with no
            successful response between, before the call is escalated. Default 3.
        transfer_target: Where to transfer on escalation (E.164 number or ACS raw id); when
            ``None`` the agent says goodbye and hangs up.
    """

    max_consecutive_failures: int = 3
    transfer_target: str | None = None

    def should_escalate(self, consecutive_failures: int) -> bool:
        """True when ``consecutive_failures`` reached the limit."""
        return consecutive_failures >= self.max_consecutive_failures


@dataclass(frozen=True, slots=True)
class SpeechPolicy:
    """How streamed model text becomes speech, and how heard words are estimated.

    Attributes:
        min_clause_chars: A clause may end at ``,`` ``;`` or ``:`` only once it holds this
            many characters (sentence ends always cut). Default 24.
        ms_per_char_estimate: Used to estimate how much of a clause was heard on barge-in when
            playback reported neither the played text nor the clause's total duration. About
            15 characters per second of neural TTS speech. Default 65.
    """

    min_clause_chars: int = 24
    ms_per_char_estimate: float = 65.0


@dataclass(frozen=True, slots=True)
class ConversationPolicy:
    """Every policy of a conversation, with their defaults.

    Agents may override ``barge_in`` and ``endpointing`` (see
    :class:`~domain.agents.AgentSpec`). ``outbound`` (:class:`domain.outbound.OutboundPolicy`)
    screens the callee of an outbound call for a voicemail greeting.
    """

    barge_in: BargeInPolicy = BargeInPolicy()
    endpointing: EndpointingPolicy = EndpointingPolicy()
    no_input: NoInputPolicy = NoInputPolicy()
    tools: ToolPolicy = ToolPolicy()
    handoffs: HandoffPolicy = HandoffPolicy()
    dtmf: DtmfPolicy = DtmfPolicy()
    failures: FailurePolicy = FailurePolicy()
    speech: SpeechPolicy = SpeechPolicy()
    outbound: OutboundPolicy = OutboundPolicy()
