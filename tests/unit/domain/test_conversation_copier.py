"""The hot path's generated copies equal dataclasses.replace, for every field."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.conversation import Clause, Reply, SessionState, Then
from domain.conversation.copier import copier
from domain.conversation.state import with_progress

REPLIES = st.builds(
    Reply,
    agent=st.text(max_size=5),
    then=st.sampled_from(Then),
    target=st.text(max_size=5),
    prefix=st.text(max_size=5),
    text=st.text(max_size=20),
    buffer=st.text(max_size=5),
    committed=st.integers(0, 20),
    clauses=st.tuples(st.builds(Clause, st.text(max_size=3), st.text(max_size=8))),
    played=st.integers(0, 2),
    playing_ms=st.floats(0, 1e4),
    playing_text=st.none() | st.text(max_size=8),
    playing_total_ms=st.none() | st.floats(0, 1e4),
)


@given(reply=REPLIES, seq=st.integers(0, 99), agent=st.text(max_size=5))
def test_a_copier_equals_replace(reply: Reply, seq: int, agent: str) -> None:
    state = SessionState("call-1", agent=agent, seq=seq)
    with_reply = copier(SessionState, ("reply", "seq"))
    assert with_reply(state, reply, seq + 1) == replace(state, reply=reply, seq=seq + 1)


def test_a_copier_follows_a_field_added_later() -> None:
    @dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int
        label: str = ""

    move = copier(Point, ("x",))
    assert move(Point(1, 2, "a"), 5) == Point(5, 2, "a")


def test_a_copier_for_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="no field"):
        copier(Reply, ("nope",))


@given(
    reply=REPLIES,
    played=st.integers(0, 3),
    ms=st.floats(0, 1e4),
    text=st.none() | st.text(max_size=8),
)
def test_with_progress_equals_nested_replace(
    reply: Reply, played: int, ms: float, text: str | None
) -> None:
    state = SessionState("call-1", reply=reply, seq=3)
    moved = replace(reply, played=played, playing_ms=ms, playing_text=text, playing_total_ms=None)
    assert with_progress(state, played, ms, text, None) == replace(state, reply=moved)
