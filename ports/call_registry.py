"""The ``CallRegistry`` port: which instance owns which call.

Promise:
    * ``claim(call_id, instance_id)`` records the owner with the adapter's TTL; the owner calls
      it again (heartbeat) before the TTL runs out to keep the claim.
    * ``owner(call_id)`` returns the owning instance id, or ``None`` when the claim expired or
      was released (the owner is gone: the call is lost).
    * ``release`` is idempotent and only removes the claim of the given instance.
    * Errors: :class:`~ports.errors.StoreUnavailableError`.
"""

from __future__ import annotations

from typing import Protocol


class CallRegistry(Protocol):
    """Maps call ids to owning instance ids, with expiry."""

    async def claim(self, call_id: str, instance_id: str) -> None:
        """Record (or refresh) ``instance_id`` as the call's owner.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...

    async def owner(self, call_id: str) -> str | None:
        """The owning instance id, or ``None``.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...

    async def release(self, call_id: str, instance_id: str) -> None:
        """Drop the claim if ``instance_id`` holds it.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...
