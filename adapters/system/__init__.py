"""System adapters: the real clock (and other process-level services)."""

from adapters.system.clock import SystemClock

__all__ = ["SystemClock"]
