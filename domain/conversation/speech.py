"""Speech bookkeeping: lines and clauses queued as ``Speak``, and how much the caller heard.

A reply (one assistant message) may span several ``Speak`` clauses and tool rounds; text
stored with a tool call or before a handoff is kept whole (``Reply.committed``), only the rest
is truncated to the heard words when speech is cut.
"""

from __future__ import annotations

import re
from dataclasses import replace

from domain.commands import Speak, StopPlayback, StopReason
from domain.conversation.parts import Clause, Reply, Then
from domain.conversation.transaction import Tx
from ports import Voice

_WORD = re.compile(r"\S+")


def say(
    tx: Tx,
    text: str,
    *,
    interruptible: bool = True,
    then: Then | None = None,
    target: str = "",
) -> None:
    """Speak a fixed line as the active agent (appended to the reply being spoken).

    An empty ``text`` speaks nothing but still sets what follows the reply (``then``).
    """
    if tx.state.resume is not None:
        # A new line supersedes the interrupted message: it will not be resumed.
        tx.commit_resume(None)
    s = tx.state
    reply = s.reply
    if reply is None:
        reply = Reply(agent=s.agent)
    elif reply.agent != s.agent:
        tx.commit_reply(None)
        reply = replace(tx.state.reply or reply, agent=s.agent)
    if then is not None:
        reply = replace(reply, then=then, target=target)
    tx.state = replace(tx.state, reply=reply)
    line = text.strip()
    if line:
        add_clause(tx, line, None, interruptible)


def add_clause(tx: Tx, text: str, response_id: str | None, interruptible: bool) -> None:
    """Queue one clause of the current reply as a ``Speak``."""
    s = tx.state
    reply = s.reply
    assert reply is not None  # noqa: S101 - callers create the reply first
    if reply.text and not reply.text[-1].isspace() and not text[0].isspace():
        text = " " + text
    seq = s.seq + 1
    speech_id = f"s{seq}"
    clause = Clause(speech_id, text, interruptible, response_id)
    tx.state = replace(
        s,
        seq=seq,
        reply=replace(reply, text=reply.text + text, clauses=(*reply.clauses, clause)),
    )
    agent = tx.cfg.agents.get(reply.agent)
    voice = agent.voice if agent is not None else Voice()
    tx.issue(Speak(speech_id, text.strip(), interruptible, response_id, voice))


def mark_spoke(tx: Tx) -> None:
    """The response in flight has spoken: it can no longer be merged into; seal the turn."""
    resp = tx.state.response
    if resp is not None and not resp.spoke:
        tx.state = replace(tx.state, response=replace(resp, spoke=True))
    tx.seal()


def flush(tx: Tx, response_id: str | None) -> None:
    """Speak what the segmenter still holds (the response's text is complete)."""
    reply = tx.state.reply
    if reply is None or not reply.buffer:
        return
    rest = reply.buffer
    tx.state = replace(tx.state, reply=replace(reply, buffer=""))
    if rest.strip():
        add_clause(tx, rest, response_id, True)
        mark_spoke(tx)


def drop_speech(tx: Tx, at: float, why: str) -> None:
    """Stop speech and the response in flight, keeping the words already heard."""
    reply = tx.state.reply
    playing = reply is not None and reply.playing is not None
    if playing:
        tx.issue(StopPlayback(StopReason.PROVIDER_FAILED))
    if tx.state.response is not None:
        tx.cancel_response(why)
    if reply is not None:
        if playing:
            heard, _rest = split_heard(tx, reply)
            tx.state = replace(tx.state, reply=None)
            tx.commit_assistant(reply.agent, heard, True, at)
        else:
            tx.commit_reply(at)
            tx.state = replace(tx.state, reply=None)
    if tx.state.resume is not None:
        tx.commit_resume(at)


def clause_index(reply: Reply, speech_id: str) -> int | None:
    """Index of the unplayed clause ``speech_id`` in ``reply``, None when not there."""
    for index in range(reply.played, len(reply.clauses)):
        if reply.clauses[index].speech_id == speech_id:
            return index
    return None


def split_heard(tx: Tx, reply: Reply) -> tuple[str, str]:
    """(heard, unplayed) parts of the reply's uncommitted message, at word boundaries."""
    cut = heard_len(tx, reply)
    committed = reply.committed
    if cut > committed:
        heard = (reply.prefix + reply.text[committed:cut]).strip()
        rest = reply.text[cut:] + reply.buffer
    else:
        heard = reply.prefix.strip()
        rest = reply.text[committed:] + reply.buffer
    return heard, " ".join(rest.split())


def heard_len(tx: Tx, reply: Reply) -> int:
    """Index in ``reply.text`` just after the last word the caller heard in full."""
    done = sum(len(c.text) for c in reply.clauses[: reply.played])
    clause = reply.playing
    if clause is None:
        return done
    text = clause.text
    if reply.playing_text is not None:
        return done + _end_of_words(text, len(reply.playing_text.split()))
    total = reply.playing_total_ms
    if not total:
        total = len(text.strip()) * tx.cfg.policy.speech.ms_per_char_estimate
    fraction = min(1.0, reply.playing_ms / total) if total > 0 else 0.0
    return done + _end_of_words_within(text, int(len(text) * fraction))


def _end_of_words(text: str, count: int) -> int:
    """Index just after the ``count``-th word of ``text`` (0 for none)."""
    if count <= 0:
        return 0
    end = 0
    for n, match in enumerate(_WORD.finditer(text), 1):
        end = match.end()
        if n >= count:
            break
    return end


def _end_of_words_within(text: str, limit: int) -> int:
    """Index just after the last word of ``text`` that ends at or before ``limit``."""
    end = 0
    for match in _WORD.finditer(text):
        if match.end() > limit:
            break
        end = match.end()
    return end
