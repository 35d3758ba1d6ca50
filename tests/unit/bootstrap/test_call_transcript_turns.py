"""``parley call``'s transcript.json: each caller turn gets the server's record of that turn."""

from __future__ import annotations

import json

from adapters.acs_emulator.scenario import CallResult, TurnResult
from bootstrap.call_command import CallReport, write_outputs


def turn_record(final_ms: float, ttft: float) -> dict:
    return {
        "kind": "turn_latency",
        "text": "",
        "at_ms": final_ms + ttft + 100,
        "agent": "concierge",
        "interrupted": False,
        "data": {"time_to_first_token": ttft, "marks": {"final": final_ms}},
    }


def message(kind: str, text: str, at_ms: float) -> dict:
    return {
        "kind": kind,
        "text": text,
        "at_ms": at_ms,
        "agent": "concierge",
        "interrupted": False,
        "data": {},
    }


def written_turns(tmp_path, turns, transcript) -> list[dict]:
    report = CallReport(CallResult(call_connection_id="c1", turns=turns), transcript)
    write_outputs(report, tmp_path)
    return json.loads((tmp_path / "transcript.json").read_text())["turns"]


def test_a_one_turn_call_has_its_server_record(tmp_path):
    turns = [TurnResult("hi", 900.0, spoke_at=10.0, finished_at=10.9, reply_at=11.5)]
    transcript = [message("assistant", "Hello", 9_000.0), turn_record(11_100.0, 250.0)]
    [row] = written_turns(tmp_path, turns, transcript)
    assert row["server"]["time_to_first_token"] == 250.0


def test_each_turn_gets_the_record_of_its_own_final(tmp_path):
    turns = [
        TurnResult("one", 900.0, spoke_at=10.0, finished_at=10.9, reply_at=11.5),
        TurnResult("two", 900.0, spoke_at=20.0, finished_at=20.9, reply_at=21.5),
        TurnResult("three", 900.0, spoke_at=30.0, finished_at=30.9),
    ]
    transcript = [turn_record(11_100.0, 201.0), turn_record(21_100.0, 202.0)]
    rows = written_turns(tmp_path, turns, transcript)
    assert [r["server"] and r["server"]["time_to_first_token"] for r in rows] == [
        201.0,
        202.0,
        None,
    ]


def test_a_barge_in_reaction_goes_to_the_turn_that_barged_in(tmp_path):
    turns = [
        TurnResult("one", 900.0, spoke_at=10.0, finished_at=10.9, reply_at=11.5),
        TurnResult("stop", 500.0, spoke_at=13.0, finished_at=13.5, stop_audio_at=13.3),
    ]
    reaction = {
        "kind": "turn_latency",
        "text": "",
        "at_ms": 13_320.0,
        "agent": "concierge",
        "interrupted": False,
        "data": {"barge_in_reaction": 310.0, "marks": {"onset": 13_010.0, "stop_audio": 13_320.0}},
    }
    transcript = [turn_record(11_100.0, 201.0), reaction, turn_record(13_900.0, 203.0)]
    rows = written_turns(tmp_path, turns, transcript)
    assert [r["barge_in_reaction_ms"] for r in rows] == [None, 310.0]
    assert [r["server"]["time_to_first_token"] for r in rows] == [201.0, 203.0]


def test_records_without_marks_are_taken_in_order(tmp_path):
    turns = [TurnResult("one", 900.0, spoke_at=10.0), TurnResult("two", 900.0, spoke_at=20.0)]
    old = {
        "kind": "turn_latency",
        "text": "",
        "at_ms": 0.0,
        "agent": None,
        "interrupted": False,
        "data": {"voice_to_voice": 700.0},
    }
    rows = written_turns(tmp_path, turns, [old])
    assert [r["server"] for r in rows] == [{"voice_to_voice": 700.0}, None]
