"""Write-behind queue depth and overflow, as Prometheus reads them at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from adapters.memory import ManualClock, MemorySessionStore, MemoryTranscriptLog
from adapters.resilience import WriteBehindSessionStore, WriteBehindTranscriptLog
from adapters.resilience.metrics import WriteBehindCollector
from ports import TranscriptEntry


async def test_depth_and_overflow_are_exported_as_they_change() -> None:
    clock = ManualClock()
    log = WriteBehindTranscriptLog(MemoryTranscriptLog(clock, 60_000), max_pending=2)
    sessions = WriteBehindSessionStore(MemorySessionStore(clock, 60_000))
    registry = CollectorRegistry()
    registry.register(WriteBehindCollector({"sessions": sessions, "transcripts": log}))

    def scrape() -> str:
        return generate_latest(registry).decode()

    assert 'parley_write_behind_depth{queue="transcripts"} 0.0' in scrape()
    # append() never yields to the drain task, so three in a row overflow a queue of two.
    for text in ("a", "b", "c"):
        await log.append("call", TranscriptEntry(kind="user", text=text))
    text = scrape()
    assert 'parley_write_behind_overflow_total{queue="transcripts"} 1.0' in text
    assert 'parley_write_behind_overflow_total{queue="sessions"}' not in text
    await log.aclose(flush_timeout_s=1)
    await sessions.aclose(flush_timeout_s=1)
    assert 'parley_write_behind_depth{queue="transcripts"} 0.0' in scrape()
