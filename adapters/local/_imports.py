"""Import helper giving an install hint when an offline engine is missing; pool shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
from types import ModuleType

logger = logging.getLogger(__name__)


def require(module: str, package: str) -> ModuleType:
    """Import ``module`` or fail with a hint naming the pip package and the ``local`` extra.

    Raises:
        ImportError: The engine is not installed; the message says how to install it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is missing: install the offline engines with"
            f" `pip install 'parley[local]'` (package {package})"
        ) from exc


async def shutdown_pool(executor: concurrent.futures.ThreadPoolExecutor, timeout_s: float) -> None:
    """Cancel queued work and wait (at most ``timeout_s``) for running work to finish.

    A decode or synthesis cannot be interrupted; waiting for it here, off the loop, means the
    adapter leaves no thread behind when it closes. Past the bound the threads finish alone.
    """
    executor.shutdown(wait=False, cancel_futures=True)
    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.to_thread(executor.shutdown, wait=True)
    except TimeoutError:
        logger.warning("engine threads still busy %.0f s after close", timeout_s)
