"""Resilience wrappers: live calls independent of store outages; retry of provider requests."""

from adapters.resilience.history_behind import WriteBehindCallHistory
from adapters.resilience.retry import TRANSIENT_ERRORS, RetryConfig, TransientRetry
from adapters.resilience.write_behind import WriteBehindSessionStore, WriteBehindTranscriptLog

__all__ = [
    "TRANSIENT_ERRORS",
    "RetryConfig",
    "TransientRetry",
    "WriteBehindCallHistory",
    "WriteBehindSessionStore",
    "WriteBehindTranscriptLog",
]
