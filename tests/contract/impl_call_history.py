"""Call-history implementations under contract: memory, SQLite (a temp file), PostgreSQL (one
database on the session's real server, emptied before each test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.memory.call_history import MemoryCallHistory
from parley.contract import CallHistoryCase, Failing
from ports import StoreUnavailableError
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.redis_server import free_port


@pytest.fixture
def memory_call_history() -> CallHistoryCase:
    rigged = MemoryCallHistory(fail_with=StoreUnavailableError("rigged"))
    return CallHistoryCase(MemoryCallHistory(), [Failing(StoreUnavailableError, rigged, "rigged")])


@pytest.fixture
async def sqlite_call_history(tmp_path: Path) -> AsyncIterator[CallHistoryCase]:
    from adapters.sqlite import SqliteCallHistory

    history = SqliteCallHistory(tmp_path / "calls.sqlite3")
    await history.open()
    closed = SqliteCallHistory(tmp_path / "closed.sqlite3")
    await closed.open()
    await closed.aclose()
    yield CallHistoryCase(history, [Failing(StoreUnavailableError, closed, "closed")])
    await history.aclose()


@pytest.fixture(scope="session")
def contract_postgres_url(postgres_server_process: PostgresServer) -> str:
    """One database for the contract suite (each test empties it first)."""
    return postgres_server_process.create_database()


@pytest.fixture
async def postgres_call_history(contract_postgres_url: str) -> AsyncIterator[CallHistoryCase]:
    import psycopg

    from adapters.postgres import PostgresCallHistory

    history = PostgresCallHistory(contract_postgres_url)
    await history.open()
    async with await psycopg.AsyncConnection.connect(contract_postgres_url) as conn:
        await conn.execute("TRUNCATE calls, call_lines, call_recordings")
        await conn.commit()
    # Nothing listens there: every operation times out waiting for a connection.
    unreachable = PostgresCallHistory(
        f"postgresql://parley@127.0.0.1:{free_port()}/none", timeout_ms=100.0
    )
    await unreachable.open(migrate=False)
    yield CallHistoryCase(
        history, [Failing(StoreUnavailableError, unreachable, "nothing listening")]
    )
    await unreachable.aclose()
    await history.aclose()
