"""SQLite adapters (aiosqlite): the embedded call history (``PARLEY_CALL_RECORDS=sqlite``)."""

from adapters.sqlite.call_history import SqliteCallHistory

__all__ = ["SqliteCallHistory"]
