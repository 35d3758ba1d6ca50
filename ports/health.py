"""The ``HealthCheck`` port: a cheap readiness probe any adapter may offer.

Promise:
    * ``health_check()`` returns quickly (the caller applies a timeout of about 1 s) and
      raises a :class:`~ports.errors.ParleyError` subclass saying what is wrong.
    * It never changes state and never starts a long connection.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class HealthCheck(Protocol):
    """An adapter that can say whether it is ready."""

    async def health_check(self) -> None:
        """Return when ready.

        Raises:
            ParleyError: What is wrong (unreachable, refused credentials, missing model).
        """
        ...
