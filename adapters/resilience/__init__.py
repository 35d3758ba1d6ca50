"""Resilience wrappers over store ports: keep live calls independent of store outages."""

from adapters.resilience.write_behind import WriteBehindSessionStore, WriteBehindTranscriptLog

__all__ = ["WriteBehindSessionStore", "WriteBehindTranscriptLog"]
