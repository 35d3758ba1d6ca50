"""Killing ``parley serve`` mid-call loses no transcript line already written (issue 19).

A real ``parley serve`` subprocess (pocketsphinx hears real speech clips, the fake model
echoes them) answers a call from the local ACS emulator. After a caller turn and its reply,
while the call is still live, the test snapshots the call's record straight from the
SQLite file, SIGKILLs the server and reads the file again: every line written before the kill
is still there, and the caller's words and the agent's replies were written during the call,
not at its end. (That a restarted instance marks such a call ``lost`` is the retention job's
unit test.)
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from adapters.audio.convert import read_wav
from adapters.sqlite import SqliteCallHistory
from ports import PCM16_16K
from ports.call_history import CallRecord
from tests.reliability.test_acs_serve import connected, parley_serve, until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIP = "book_a_room.wav"


async def read_record(directory: Path, call_id: str) -> CallRecord | None:
    store = SqliteCallHistory(directory / "calls.sqlite3")
    await store.open()
    try:
        return await store.get(call_id)
    finally:
        await store.aclose()


def kept(before: CallRecord, after: CallRecord) -> bool:
    """Every line of ``before`` is in ``after``, unchanged."""
    by_seq = {line.seq: line for line in after.lines}
    return all(by_seq.get(line.seq) == line for line in before.lines)


async def test_a_killed_server_keeps_every_line_written_before_the_kill(
    tmp_path: Path, shared_audio_dir: Path
) -> None:
    records = tmp_path / "records"
    env = {"PARLEY_STT": "local", "PARLEY_VAD": "webrtc", "PARLEY_RECORDS_DIR": str(records)}
    async with parley_serve(tmp_path, **env) as served:
        call = await connected(served)
        call_id = call.call_connection_id
        media = call.media
        assert media is not None
        media.start_line()
        await until(lambda: media.stats.frames_received > 0, "the greeting")
        # Spoken over the greeting: a barge-in, then the answer (no wait for the agent).
        await media.speak(read_wav(shared_audio_dir / CLIP, PCM16_16K).data)
        for _ in range(300):
            record = await read_record(records, call_id)
            replies = [line.text for line in record.lines_of("assistant")] if record else []
            if "You said: book a room." in replies:
                break
            await asyncio.sleep(0.1)
        before = await read_record(records, call_id)
        served.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(served.process.wait, 10)
        assert not call.ended.is_set(), "the call was still live when the server was killed"

    after = await read_record(records, call_id)
    assert before is not None and after is not None
    assert kept(before, after)
    assert after.header.outcome == "in_progress" and after.header.ended_at_ms is None
    # Written during the call: the caller's words, the echo, the turn latency (and the greeting,
    # as far as it was heard before the caller spoke over it).
    assert [line.text for line in before.lines_of("user")] == ["book a room"]
    replies = [line.text for line in before.lines_of("assistant")]
    assert "You said: book a room." in replies
    assert before.lines_of("turn_latency")
