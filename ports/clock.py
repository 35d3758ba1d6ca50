"""The ``Clock`` port: monotonic time and sleeping, so tests can drive time by hand.

Promise:
    * ``now_ms()`` is monotonic milliseconds (arbitrary origin, never decreases).
    * ``sleep_until(deadline_ms)`` returns once ``now_ms() >= deadline_ms`` (at once if past);
      ``sleep(ms)`` is ``sleep_until(now_ms() + ms)``. Both are cancellable.
    * Pacing code uses ``sleep_until`` on an absolute schedule so errors never accumulate.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Monotonic time source."""

    def now_ms(self) -> float:
        """Monotonic time in milliseconds."""
        ...

    async def sleep(self, ms: float) -> None:
        """Suspend for ``ms`` milliseconds."""
        ...

    async def sleep_until(self, deadline_ms: float) -> None:
        """Suspend until ``now_ms() >= deadline_ms``."""
        ...
