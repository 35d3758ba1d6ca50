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
    or until ``max_endpointing_delay_ms`` of silence have passed (LiveKit's
    ``max_endpointing_delay`` and turn detector ``unlikely_threshold``). Without a model, or
    when its judgement has not arrived, a final is taken at once.

    Attributes:
        end_of_turn_grace_ms: A final transcript ends the user turn and the response starts
            at once; another final within this many ms of the previous one (before the
            response has spoken) is merged into the same turn and the response restarts.
            After the grace window the turn is sealed and its transcript line emitted.
            0 seals at once (no merging). Default 500.
        unlikely_threshold: An end-of-turn probability below this means "incomplete".
            Default 0.5.
        max_endpointing_delay_ms: Longest silence, ms from the VAD end of speech, before a
            turn judged incomplete is taken anyway. 0 never holds. Default 1500.
    """

    end_of_turn_grace_ms: float = 500.0
    unlikely_threshold: float = 0.5
    max_endpointing_delay_ms: float = 1500.0

    def merges(self, previous_final_ms: float, final_ms: float) -> bool:
        """True when a final at ``final_ms`` joins the turn whose last final was earlier."""
        return final_ms - previous_final_ms <= self.end_of_turn_grace_ms

    def hold_ms(self, probability: float | None, silence_ms: float) -> float:
        """How much longer to wait before taking the turn; 0 means take it now.

        Args:
            probability: The end-of-turn model's probability for the current pause, or None
                when there is no model (or no judgement yet).
            silence_ms: Silence so far, ms since the VAD end of speech.

        Returns:
            0 when the turn counts as complete (or no model judged it); otherwise what is
            left of ``max_endpointing_delay_ms`` (never negative).
        """
        if probability is None or probability >= self.unlikely_threshold:
            return 0.0
        return max(0.0, self.max_endpointing_delay_ms - silence_ms)


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
