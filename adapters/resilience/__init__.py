"""Resilience wrappers over store ports: keep live calls independent of store outages."""

from adapters.resilience.history_behind import WriteBehindCallHistory
from adapters.resilience.write_behind import WriteBehindSessionStore, WriteBehindTranscriptLog

__all__ = ["WriteBehindCallHistory", "WriteBehindSessionStore", "WriteBehindTranscriptLog"]
