"""``ports.CallHistory`` on PostgreSQL through psycopg 3 and its async connection pool.

Production's call history (``PARLEY_CALL_RECORDS=postgres``), shared by every instance. The
pool (``psycopg_pool.AsyncConnectionPool``) is opened without waiting, so a database that is
down at start leaves the process up: operations fail with ``StoreUnavailableError`` (the
write-behind wrapper queues writes, ``/ready`` names the store) until it returns. Every
operation has a deadline; JSON columns are ``jsonb``.

Schema: numbered migrations (:mod:`adapters.sql.schema`) applied by :meth:`migrate` in one
transaction per migration, under a transaction-level advisory lock so instances starting
together migrate once (PostgreSQL docs, "Advisory Locks",
https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS). Docs of the
client: "psycopg 3 - Connection pools",
https://www.psycopg.org/psycopg3/docs/advanced/pool.html.

Errors: :func:`translate` maps psycopg's exception tree (most specific first) to port errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

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

logger = logging.getLogger(__name__)

_MIGRATION_LOCK: Final = 0x7061726C6579  # "parley": one advisory lock id for migrations

# Most specific first: PoolTimeout and OperationalError are DatabaseErrors.
ERROR_MAP: Final[tuple[tuple[type[BaseException], type[StoreError]], ...]] = (
    (psycopg.OperationalError, StoreUnavailableError),  # includes psycopg_pool.PoolTimeout
    (psycopg.InterfaceError, StoreUnavailableError),
    (psycopg.errors.AdminShutdown, StoreUnavailableError),
    (psycopg.DatabaseError, StoreError),
    (psycopg.Error, StoreError),
    (TimeoutError, StoreUnavailableError),
    (OSError, StoreUnavailableError),
)


def translate(exc: BaseException) -> StoreError:
    """The port error for a psycopg failure or a deadline (message without the DSN)."""
    for source, target in ERROR_MAP:
        if isinstance(exc, source):
            return target(f"postgres: {type(exc).__name__}")
    return StoreError(f"postgres: {type(exc).__name__}")


class PostgresCallHistory:
    """Call records in PostgreSQL.

    Args:
        conninfo: libpq connection string or ``postgresql://`` URL (a secret: never logged).
        min_size: Connections the pool keeps open.
        max_size: Most connections the pool opens.
        timeout_ms: Deadline of every operation (waiting for a connection included), ms.
        connect_timeout_ms: Deadline of opening one connection, ms.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        timeout_ms: float = 2000.0,
        connect_timeout_ms: float = 2000.0,
    ) -> None:
        self._timeout_s = timeout_ms / 1000.0
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=self._timeout_s,
            kwargs={
                "connect_timeout": max(1, round(connect_timeout_ms / 1000.0)),
                "autocommit": True,
            },
            name="parley-call-history",
        )
        self._migrated = False
        self._migrating = asyncio.Lock()

    async def open(self, *, migrate: bool = True) -> None:
        """Open the pool (connections are made in the background) and try to migrate.

        A database that cannot be reached yet is logged; migration is retried before the
        first operation that reaches it (and only then when ``migrate`` is false).

        Raises:
            SchemaTooNewError: The database was written by a newer Parley.
        """
        await self._pool.open(wait=False)
        if not migrate:
            return
        try:
            await self.migrate()
        except StoreUnavailableError as exc:
            logger.warning("call history (postgres) not reachable at start: %s", exc)

    async def aclose(self) -> None:
        """Close the pool. Idempotent."""
        await self._pool.close()

    async def migrate(self) -> None:
        """Apply pending migrations (once per process; instances serialise on a lock).

        Raises:
            StoreUnavailableError: The database cannot be reached.
            SchemaTooNewError: The database was written by a newer Parley.
        """
        if self._migrated:
            return
        async with self._migrating:
            if self._migrated:
                return
            try:
                async with asyncio.timeout(max(self._timeout_s, 10.0)):
                    async with self._pool.connection() as conn:
                        await self._apply(conn)
            except (psycopg.Error, TimeoutError, OSError) as exc:
                raise translate(exc) from exc
            self._migrated = True

    async def _apply(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)"
            )
            cursor = await conn.execute(f"SELECT MAX(version) FROM {MIGRATIONS_TABLE}")
            row = await cursor.fetchone()
            applied = int(row[0]) if row and row[0] is not None else 0
            todo = pending(applied)
        for migration in todo:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                cursor = await conn.execute(
                    f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE version = %s", (migration.version,)
                )
                if await cursor.fetchone() is not None:
                    continue  # another instance applied it while we waited for the lock
                for statement in migration.statements("postgres"):
                    await conn.execute(statement)
                await conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} VALUES (%s, %s, %s)",
                    (migration.version, migration.name, int(time.time() * 1000)),
                )
                logger.info(
                    "call history: applied migration %d (%s)", migration.version, migration.name
                )

    @contextlib.asynccontextmanager
    async def _op(self, *, write: bool = False) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One operation under the deadline (in a transaction when ``write``)."""
        await self.migrate()
        try:
            async with asyncio.timeout(self._timeout_s), self._pool.connection() as conn:
                if write:
                    async with conn.transaction():
                        yield conn
                else:
                    yield conn
        except (psycopg.Error, TimeoutError, OSError) as exc:
            raise translate(exc) from exc

    async def health_check(self) -> None:
        """One trivial query.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        async with self._op() as conn:
            await conn.execute("SELECT 1")

    async def save_call(self, header: CallHeader) -> None:
        """Create or replace the header."""
        params = r.header_params(header, Jsonb(list(header.agents)))
        async with self._op(write=True) as conn:
            await conn.execute(r.sql(r.UPSERT_CALL, "postgres"), params)

    async def append_lines(self, call_id: str, lines: Sequence[RecordLine]) -> None:
        """Store new lines in one transaction (one pipelined ``executemany``)."""
        if not lines:
            return
        params = [r.line_params(call_id, line, Jsonb(line.data)) for line in lines]
        async with self._op(write=True) as conn, conn.cursor() as cursor:
            await cursor.executemany(r.sql(r.INSERT_LINE, "postgres"), params)

    async def append_batch(self, lines: Sequence[tuple[str, RecordLine]]) -> None:
        """Store new lines of several calls in one transaction (one commit)."""
        if not lines:
            return
        params = [r.line_params(cid, line, Jsonb(line.data)) for cid, line in lines]
        async with self._op(write=True) as conn, conn.cursor() as cursor:
            await cursor.executemany(r.sql(r.INSERT_LINE, "postgres"), params)

    async def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Create or replace the recording."""
        params = r.recording_params(call_id, recording, Jsonb(recording.data))
        async with self._op(write=True) as conn:
            await conn.execute(r.sql(r.UPSERT_RECORDING, "postgres"), params)

    async def find_recording(self, server_call_id: str) -> tuple[str, RecordingRef] | None:
        """The call and latest recording on ``server_call_id``."""
        if not server_call_id:
            return None
        async with self._op() as conn:
            cursor = await conn.execute(
                r.sql(r.SELECT_RECORDING_BY_SERVER_CALL, "postgres"), (server_call_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else (str(row[9]), r.recording_from(row))

    async def save_summary(self, call_id: str, summary: PostCallSummary) -> None:
        """Set the summary (a call without a header gets none)."""
        async with self._op(write=True) as conn:
            await conn.execute(
                r.sql(r.UPDATE_SUMMARY, "postgres"), (Jsonb(r.summary_json(summary)), call_id)
            )

    async def get(self, call_id: str) -> CallRecord | None:
        """The whole record (one snapshot: a repeatable-read transaction)."""
        async with self._op() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor = await conn.execute(r.sql(r.SELECT_CALL, "postgres"), (call_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            cursor = await conn.execute(r.sql(r.SELECT_LINES, "postgres"), (call_id,))
            lines = [r.line_from(x) for x in await cursor.fetchall()]
            cursor = await conn.execute(r.sql(r.SELECT_RECORDINGS, "postgres"), (call_id,))
            recordings = [r.recording_from(x) for x in await cursor.fetchall()]
        return CallRecord(
            header=r.header_from(row),
            lines=tuple(lines),
            recordings=tuple(recordings),
            summary=r.summary_from(row[15]),
        )

    async def find(self, query: CallQuery) -> list[CallHeader]:
        """Matching headers, newest first."""
        statement, params = r.find_sql(query, "postgres")
        async with self._op() as conn:
            cursor = await conn.execute(statement, params)
            return [r.header_from(row) for row in await cursor.fetchall()]

    async def delete(self, call_id: str) -> DeletedCall | None:
        """Remove the call."""
        async with self._op(write=True) as conn:
            return await self._delete(conn, call_id)

    async def _delete(self, conn: psycopg.AsyncConnection[Any], call_id: str) -> DeletedCall | None:
        cursor = await conn.execute(r.sql(r.SELECT_RECORDINGS, "postgres"), (call_id,))
        recordings = tuple(r.recording_from(x) for x in await cursor.fetchall())
        counts = []
        for statement in r.DELETE_STATEMENTS:
            cursor = await conn.execute(r.sql(statement, "postgres"), (call_id,))
            counts.append(cursor.rowcount)
        return DeletedCall(call_id, recordings) if counts[-1] else None

    async def delete_started_before(self, cutoff_ms: int, *, limit: int = 500) -> list[DeletedCall]:
        """Remove at most ``limit`` calls started before ``cutoff_ms``, oldest first."""
        deleted: list[DeletedCall] = []
        async with self._op(write=True) as conn:
            cursor = await conn.execute(
                r.sql(r.SELECT_OLDEST_BEFORE, "postgres"), (cutoff_ms, limit)
            )
            for (call_id,) in await cursor.fetchall():
                gone = await self._delete(conn, str(call_id))
                if gone is not None:
                    deleted.append(gone)
        return deleted
