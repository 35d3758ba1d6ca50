"""The ``SessionStore`` port: versioned, expiring storage of serialised session state.

Promise:
    * ``get(call_id)`` returns the latest :class:`StoredSession` or ``None`` (never stored,
      deleted or expired).
    * ``put(call_id, state, expected_version=v)`` is compare-and-set: it succeeds only when the
      stored version is ``v`` (``None`` meaning "no record yet"), and returns the new version
      (``v + 1``, starting at 1). Otherwise it raises :class:`~ports.errors.VersionConflictError`.
    * Every record has a TTL (the adapter's configured ``ttl_ms``), refreshed on each write.
    * ``delete`` is idempotent.
    * Errors: :class:`~ports.errors.StoreUnavailableError` when the backend cannot be reached or
      the per-command timeout expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ports.chat import JsonObject


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A stored session state.

    Attributes:
        call_id: The call it belongs to.
        version: Monotonic version, 1 for the first write.
        state: JSON-compatible state (the domain's serialised session).
    """

    call_id: str
    version: int
    state: JsonObject


class SessionStore(Protocol):
    """Versioned session state, keyed by call id."""

    async def get(self, call_id: str) -> StoredSession | None:
        """Latest state, or ``None``.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...

    async def put(self, call_id: str, state: JsonObject, *, expected_version: int | None) -> int:
        """Write ``state`` if the stored version is ``expected_version``; return the new one.

        Raises:
            VersionConflictError: The stored version differs.
            StoreUnavailableError: The backend failed.
        """
        ...

    async def delete(self, call_id: str) -> None:
        """Remove the record, if any.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...
