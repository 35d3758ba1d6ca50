"""PostgreSQL adapters (psycopg 3, async pool): the shared call history.

Install with ``pip install 'parley[postgres]'``; selected by ``PARLEY_CALL_RECORDS=postgres``.
"""

try:
    import psycopg  # noqa: F401  (fail here, with a hint, rather than deep in a call)
    import psycopg_pool  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "The PostgreSQL call history needs psycopg 3 and psycopg_pool:"
        " pip install 'parley[postgres]'"
    ) from exc

from adapters.postgres.call_history import PostgresCallHistory

__all__ = ["PostgresCallHistory"]
