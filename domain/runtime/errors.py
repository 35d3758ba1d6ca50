"""The one mapping from an exception raised by a port to the error code the runtime reports."""

from __future__ import annotations

from ports import ParleyError


def error_code(exc: BaseException, *, fallback: str = "provider_error") -> str:
    """The code counted and fed to the conversation for ``exc``.

    Args:
        exc: What a port call raised.
        fallback: Code of an exception outside the port error tree (``store_error`` for the
            stores).

    Returns:
        The port error's ``code``; ``timeout`` for a missed deadline; else ``fallback``.
    """
    if isinstance(exc, ParleyError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "timeout"
    return fallback
