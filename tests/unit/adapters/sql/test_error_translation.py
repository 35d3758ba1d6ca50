"""Every sqlite3 and psycopg error becomes a port error: unavailable when retrying may help."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool
import pytest

from adapters.postgres.call_history import translate as translate_postgres
from adapters.sql.schema import LATEST_VERSION, SchemaTooNewError, pending
from adapters.sqlite.call_history import translate as translate_sqlite
from ports import StoreError, StoreUnavailableError


def _subclasses(root: type[BaseException]) -> list[type[BaseException]]:
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("error", _subclasses(psycopg.Error), ids=lambda c: c.__name__)
def test_every_psycopg_error_maps_to_a_store_error(error: type[BaseException]) -> None:
    assert isinstance(translate_postgres(error.__new__(error)), StoreError)


@pytest.mark.parametrize(
    "error",
    [psycopg.OperationalError, psycopg_pool.PoolTimeout, psycopg.InterfaceError, TimeoutError],
)
def test_connection_failures_and_deadlines_are_unavailable(error: type[Exception]) -> None:
    assert isinstance(translate_postgres(error()), StoreUnavailableError)


def test_a_constraint_violation_is_a_plain_store_error() -> None:
    translated = translate_postgres(psycopg.errors.UniqueViolation())
    assert type(translated) is StoreError


def test_a_translated_postgres_error_does_not_echo_its_message() -> None:
    # psycopg messages may quote the connection string (with a password).
    translated = translate_postgres(psycopg.OperationalError("password=hunter2 refused"))
    assert "hunter2" not in str(translated)


@pytest.mark.parametrize("error", _subclasses(sqlite3.Error), ids=lambda c: c.__name__)
def test_every_sqlite_error_maps_to_a_store_error(error: type[Exception]) -> None:
    assert isinstance(translate_sqlite(error("x")), StoreError)


def test_a_locked_sqlite_database_is_unavailable() -> None:
    translated = translate_sqlite(sqlite3.OperationalError("database is locked"))
    assert isinstance(translated, StoreUnavailableError)


def test_a_database_from_a_newer_parley_is_refused_by_name() -> None:
    with pytest.raises(SchemaTooNewError, match=f"up to {LATEST_VERSION}"):
        pending(LATEST_VERSION + 1)
    assert pending(LATEST_VERSION) == ()
    assert [m.version for m in pending(0)] == list(range(1, LATEST_VERSION + 1))


async def test_a_postgres_store_down_at_start_opens_and_says_it_is_unavailable() -> None:
    from adapters.postgres import PostgresCallHistory
    from tests.fixtures.redis_server import free_port

    store = PostgresCallHistory(f"postgresql://parley@127.0.0.1:{free_port()}/x", timeout_ms=100)
    await store.open()  # logs, does not raise: the server starts and /ready names the store
    try:
        with pytest.raises(StoreUnavailableError):
            await store.health_check()
    finally:
        await store.aclose()
