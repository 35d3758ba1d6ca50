"""``ports.CallHistory`` on SQLite through aiosqlite: the embedded default.

One file (``PARLEY_RECORDS_DIR/calls.sqlite3``), one aiosqlite connection per store: aiosqlite
runs every statement on the connection's own thread, so nothing blocks the event loop, and
statements of one store run in order. The file is in WAL mode (readers, such as
``parley calls list`` in another process, never block the writer) with ``synchronous=NORMAL``:
a committed transaction survives the process being killed; only an OS crash or power loss may
lose the last transactions (SQLite docs, "Write-Ahead Logging",
https://www.sqlite.org/wal.html, and "PRAGMA synchronous",
https://www.sqlite.org/pragma.html#pragma_synchronous). Another process writing the same file
waits up to ``busy_timeout_ms``.

Schema: numbered migrations (:mod:`adapters.sql.schema`), applied by :meth:`SqliteCallHistory.open`
under ``BEGIN IMMEDIATE`` so two processes opening a new file do not both migrate it.

Errors: every ``sqlite3`` error and every deadline is translated by :func:`translate`
(``StoreUnavailableError`` for a locked, unopenable or closed database and for timeouts,
``StoreError`` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

import aiosqlite

from adapters.sql import rows as r
from adapters.sql.schema import MIGRATIONS_TABLE, pending
from ports import StoreError, StoreUnavailableError
from ports.call_history import (
    CallHeader,
    CallQuery,
    CallRecord,
    DeletedCall,
    PostCallSummary,
    RecordingRef,
    RecordLine,
)

# Most specific first: OperationalError is a DatabaseError.
ERROR_MAP: Final[tuple[tuple[type[BaseException], type[StoreError]], ...]] = (
    (sqlite3.OperationalError, StoreUnavailableError),
    (sqlite3.InterfaceError, StoreUnavailableError),
    (sqlite3.ProgrammingError, StoreUnavailableError),  # e.g. a closed connection
    (sqlite3.Error, StoreError),
    (TimeoutError, StoreUnavailableError),
    (ValueError, StoreUnavailableError),  # aiosqlite: "no active connection"
    (OSError, StoreUnavailableError),
)


def translate(exc: BaseException) -> StoreError:
    """The port error for a sqlite3/aiosqlite failure or a deadline."""
    for source, target in ERROR_MAP:
        if isinstance(exc, source):
            return target(f"sqlite: {type(exc).__name__}: {exc}")
    return StoreError(f"sqlite: {type(exc).__name__}")


class SqliteCallHistory:
    """Call records in one SQLite file.

    Args:
        path: The database file; its folder is created when missing.
        timeout_ms: Deadline of every operation (a store call), ms.
        busy_timeout_ms: How long a statement waits for another process's write lock, ms.
    """

    def __init__(
        self, path: Path, *, timeout_ms: float = 2000.0, busy_timeout_ms: float = 1000.0
    ) -> None:
        self.path = path
        self._timeout_s = timeout_ms / 1000.0
        self._busy_ms = int(busy_timeout_ms)
        self._db: aiosqlite.Connection | None = None
        # One connection: its write transactions must not interleave (the write-behind
        # writer, the recording endpoints and the retention job all write).
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Open the file, set WAL mode and apply pending migrations.

        Raises:
            StoreUnavailableError: The file cannot be opened or the deadline passed.
            SchemaTooNewError: The file was written by a newer Parley.
        """
        try:
            await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
            async with asyncio.timeout(max(self._timeout_s, 10.0)):
                db = await aiosqlite.connect(self.path, isolation_level=None)
                self._db = db
                await db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
                await db.execute("PRAGMA journal_mode = WAL")
                await db.execute("PRAGMA synchronous = NORMAL")
                await self._migrate(db)
        except (sqlite3.Error, TimeoutError, OSError, ValueError) as exc:
            await self.aclose()
            raise translate(exc) from exc

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)"
            )
            async with db.execute(f"SELECT MAX(version) FROM {MIGRATIONS_TABLE}") as cursor:
                row = await cursor.fetchone()
            applied = int(row[0]) if row and row[0] is not None else 0
            for migration in pending(applied):
                for statement in migration.statements("sqlite"):
                    await db.execute(statement)
                await db.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} VALUES (?, ?, ?)",
                    (migration.version, migration.name, int(time.time() * 1000)),
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise

    async def aclose(self) -> None:
        """Close the connection. Idempotent."""
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()

    @contextlib.asynccontextmanager
    async def _op(self, *, write: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One operation under the deadline, in a transaction when ``write``."""
        db = self._db
        if db is None:
            raise StoreUnavailableError("sqlite: the call history is not open")
        try:
            async with asyncio.timeout(self._timeout_s):
                if not write:
                    yield db
                    return
                async with self._write_lock:
                    await db.execute("BEGIN IMMEDIATE")
                    try:
                        yield db
                    except BaseException:
                        with contextlib.suppress(sqlite3.Error, ValueError):
                            await db.execute("ROLLBACK")
                        raise
                    await db.execute("COMMIT")
        except (sqlite3.Error, TimeoutError, OSError, ValueError) as exc:
            raise translate(exc) from exc

    async def health_check(self) -> None:
        """One trivial read.

        Raises:
            StoreUnavailableError: The database is not usable.
        """
        async with self._op() as db, db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    async def save_call(self, header: CallHeader) -> None:
        """Create or replace the header."""
        params = r.header_params(header, r.json_text(list(header.agents)))
        async with self._op(write=True) as db:
            await db.execute(r.UPSERT_CALL, params)

    async def append_lines(self, call_id: str, lines: Sequence[RecordLine]) -> None:
        """Store new lines in one transaction."""
        if not lines:
            return
        params = [r.line_params(call_id, line, r.json_text(line.data)) for line in lines]
        async with self._op(write=True) as db:
            await db.executemany(r.INSERT_LINE, params)

    async def append_batch(self, lines: Sequence[tuple[str, RecordLine]]) -> None:
        """Store new lines of several calls in one transaction."""
        if not lines:
            return
        params = [r.line_params(cid, line, r.json_text(line.data)) for cid, line in lines]
        async with self._op(write=True) as db:
            await db.executemany(r.INSERT_LINE, params)

    async def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Create or replace the recording."""
        params = r.recording_params(call_id, recording, r.json_text(recording.data))
        async with self._op(write=True) as db:
            await db.execute(r.UPSERT_RECORDING, params)

    async def find_recording(self, server_call_id: str) -> tuple[str, RecordingRef] | None:
        """The call and latest recording on ``server_call_id``."""
        if not server_call_id:
            return None
        statement = r.SELECT_RECORDING_BY_SERVER_CALL
        async with self._op() as db, db.execute(statement, (server_call_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else (str(row[9]), r.recording_from(row))

    async def save_summary(self, call_id: str, summary: PostCallSummary) -> None:
        """Set the summary (a call without a header gets none)."""
        text = r.json_text(r.summary_json(summary))
        async with self._op(write=True) as db:
            await db.execute(r.UPDATE_SUMMARY, (text, call_id))

    async def get(self, call_id: str) -> CallRecord | None:
        """The whole record."""
        async with self._op() as db:
            async with db.execute(r.SELECT_CALL, (call_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            async with db.execute(r.SELECT_LINES, (call_id,)) as cursor:
                lines = [r.line_from(x) for x in await cursor.fetchall()]
            async with db.execute(r.SELECT_RECORDINGS, (call_id,)) as cursor:
                recordings = [r.recording_from(x) for x in await cursor.fetchall()]
        return CallRecord(
            header=r.header_from(row),
            lines=tuple(lines),
            recordings=tuple(recordings),
            summary=r.summary_from(row[15]),
        )

    async def find(self, query: CallQuery) -> list[CallHeader]:
        """Matching headers, newest first."""
        statement, params = r.find_sql(query, "sqlite")
        async with self._op() as db, db.execute(statement, params) as cursor:
            return [r.header_from(row) for row in await cursor.fetchall()]

    async def delete(self, call_id: str) -> DeletedCall | None:
        """Remove the call."""
        async with self._op(write=True) as db:
            return await self._delete(db, call_id)

    async def _delete(self, db: aiosqlite.Connection, call_id: str) -> DeletedCall | None:
        async with db.execute("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)) as cursor:
            exists = await cursor.fetchone() is not None
        async with db.execute(r.SELECT_RECORDINGS, (call_id,)) as cursor:
            recordings = tuple(r.recording_from(x) for x in await cursor.fetchall())
        for statement in r.DELETE_STATEMENTS:
            await db.execute(statement, (call_id,))
        return DeletedCall(call_id, recordings) if exists else None

    async def delete_started_before(self, cutoff_ms: int, *, limit: int = 500) -> list[DeletedCall]:
        """Remove at most ``limit`` calls started before ``cutoff_ms``, oldest first."""
        deleted: list[DeletedCall] = []
        async with self._op(write=True) as db:
            async with db.execute(r.SELECT_OLDEST_BEFORE, (cutoff_ms, limit)) as cursor:
                ids = [str(row[0]) for row in await cursor.fetchall()]
            for call_id in ids:
                gone = await self._delete(db, call_id)
                if gone is not None:
                    deleted.append(gone)
        return deleted
