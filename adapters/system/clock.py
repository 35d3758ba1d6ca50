"""SystemClock: :class:`ports.Clock` on the monotonic system clock and asyncio sleeping."""

from __future__ import annotations

import asyncio
import time


class SystemClock:
    """Real time: ``time.monotonic()`` in ms, the same clock asyncio's loop uses.

    ``sleep_until`` works on absolute deadlines and re-checks after waking (timers may fire a
    clock-resolution early), so a pacer that sleeps until ``start + n * 20`` never drifts.
    """

    def now_ms(self) -> float:
        """Monotonic time in ms (arbitrary origin)."""
        return time.monotonic() * 1000.0

    async def sleep(self, ms: float) -> None:
        """Suspend for ``ms`` milliseconds (negative counts as 0; always yields once)."""
        await self.sleep_until(self.now_ms() + ms)

    async def sleep_until(self, deadline_ms: float) -> None:
        """Suspend until ``now_ms() >= deadline_ms``; if already past, yield once and return."""
        remaining = deadline_ms - self.now_ms()
        if remaining <= 0:
            await asyncio.sleep(0)
            return
        while remaining > 0:
            await asyncio.sleep(remaining / 1000.0)
            remaining = deadline_ms - self.now_ms()
