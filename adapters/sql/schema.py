"""The call-history schema, as numbered migrations for SQLite and PostgreSQL.

Each database keeps the versions applied so far in ``parley_schema_migrations`` (version,
name, time applied); at start the store applies, in order and each in its own transaction,
every migration above the highest version recorded. A database whose highest version is
above the newest one known here was written by a newer Parley: the store refuses it rather
than guess (:class:`SchemaTooNewError`). A change to the schema is a new migration at the end
of :data:`MIGRATIONS`, never an edit of an applied one.

Tables (same columns on both databases; JSON is ``TEXT`` on SQLite, ``jsonb`` on PostgreSQL):

=================== ==================================================================
``calls``           one row per call: the header columns, ``agents`` (JSON array) and
                    ``summary`` (JSON object or NULL)
``call_lines``      ``(call_id, seq)`` -> kind, text, offset_ms, agent, interrupted, data
``call_recordings`` ``(call_id, kind, recording_id)`` -> state, location, format,
                    duration_ms, server_call_id, data, updated_at_ms
=================== ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Dialect = Literal["sqlite", "postgres"]

MIGRATIONS_TABLE: Final = "parley_schema_migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step.

    Attributes:
        version: Its number (1, 2, ...), applied in order.
        name: What it does.
        sqlite: Statements for SQLite.
        postgres: Statements for PostgreSQL.
    """

    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        """The statements for ``dialect``."""
        return self.sqlite if dialect == "sqlite" else self.postgres


def _tables(json_type: str, bigint: str, real: str, boolean: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE calls (
            call_id TEXT PRIMARY KEY,
            started_at_ms {bigint} NOT NULL,
            channel TEXT NOT NULL DEFAULT '',
            caller TEXT NOT NULL DEFAULT '',
            callee TEXT NOT NULL DEFAULT '',
            agents {json_type} NOT NULL,
            outcome TEXT NOT NULL,
            end_reason TEXT NOT NULL DEFAULT '',
            ended_at_ms {bigint},
            duration_ms {real} NOT NULL DEFAULT 0,
            user_turns INTEGER NOT NULL DEFAULT 0,
            agent_turns INTEGER NOT NULL DEFAULT 0,
            barge_ins INTEGER NOT NULL DEFAULT 0,
            correlation_id TEXT NOT NULL DEFAULT '',
            instance_id TEXT NOT NULL DEFAULT '',
            summary {json_type}
        )""",
        "CREATE INDEX calls_started_at ON calls (started_at_ms)",
        "CREATE INDEX calls_outcome_started_at ON calls (outcome, started_at_ms)",
        "CREATE INDEX calls_caller_started_at ON calls (caller, started_at_ms)",
        f"""CREATE TABLE call_lines (
            call_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            offset_ms {real} NOT NULL DEFAULT 0,
            agent TEXT,
            interrupted {boolean} NOT NULL DEFAULT FALSE,
            data {json_type} NOT NULL,
            PRIMARY KEY (call_id, seq)
        )""",
        f"""CREATE TABLE call_recordings (
            call_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            recording_id TEXT NOT NULL,
            state TEXT NOT NULL,
            location TEXT NOT NULL DEFAULT '',
            format TEXT NOT NULL DEFAULT '',
            duration_ms {real} NOT NULL DEFAULT 0,
            server_call_id TEXT NOT NULL DEFAULT '',
            data {json_type} NOT NULL,
            updated_at_ms {bigint} NOT NULL DEFAULT 0,
            PRIMARY KEY (call_id, kind, recording_id)
        )""",
        "CREATE INDEX call_recordings_server_call ON call_recordings (server_call_id)",
    )


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "calls, call_lines, call_recordings",
        sqlite=_tables("TEXT", "INTEGER", "REAL", "INTEGER"),
        postgres=_tables("jsonb", "BIGINT", "DOUBLE PRECISION", "BOOLEAN"),
    ),
)
"""Every migration, oldest first (versions 1, 2, ... without gaps)."""

LATEST_VERSION: Final = MIGRATIONS[-1].version


class SchemaTooNewError(RuntimeError):
    """The database has a schema version this Parley does not know (a newer one wrote it)."""


def pending(applied: int) -> tuple[Migration, ...]:
    """The migrations above version ``applied``, in order.

    Raises:
        SchemaTooNewError: ``applied`` is above :data:`LATEST_VERSION`.
    """
    if applied > LATEST_VERSION:
        raise SchemaTooNewError(
            f"the call-history database is at schema version {applied}; this Parley knows up"
            f" to {LATEST_VERSION} (upgrade Parley, or point it at another database)"
        )
    return tuple(m for m in MIGRATIONS if m.version > applied)
