"""Playback bookkeeping: progress and completion of every ``Speak``, by ``speech_id``.

``PlaybackProgress`` is the hottest event of a call (one per 20 ms frame played): its handler
allocates only the two values it must replace and checks barge-in only while the caller
speaks.
"""

from __future__ import annotations

from dataclasses import replace

from domain.conversation import barge_in
from domain.conversation.speech import clause_index
from domain.conversation.state import with_progress
from domain.conversation.transaction import Tx
from domain.events import PlaybackCompleted, PlaybackProgress


def on_progress(tx: Tx, ev: PlaybackProgress) -> str | None:
    """How far a clause has played (and its words or total duration when known)."""
    s = tx.state
    reply = s.reply
    if reply is None:
        return "no speech playing"
    played = reply.played
    clauses = reply.clauses
    if played >= len(clauses):
        return "all speech already played"
    if clauses[played].speech_id != ev.speech_id:
        index = clause_index(reply, ev.speech_id)
        if index is None:
            return "progress for an old or unknown speech"
        played = index
    total = ev.duration_ms if ev.duration_ms is not None else reply.playing_total_ms
    if played != reply.played:
        total = ev.duration_ms
    tx.state = with_progress(s, played, ev.played_ms, ev.played_text, total)
    if s.user.speaking and not s.user.barged_in:
        barge_in.check(tx, ev.at_ms)
    return None


def on_playback_completed(tx: Tx, ev: PlaybackCompleted) -> str | None:
    """A clause played to its end; after the last one the reply settles."""
    reply = tx.state.reply
    if reply is None:
        return "no speech playing"
    index = clause_index(reply, ev.speech_id)
    if index is None:
        return "completion for an old or unknown speech"
    reply = replace(
        reply, played=index + 1, playing_ms=0.0, playing_text=None, playing_total_ms=None
    )
    tx.state = replace(tx.state, reply=reply)
    if reply.played >= len(reply.clauses):
        tx.settle()
    return None
