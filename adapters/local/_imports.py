"""Import helper giving an install hint when an offline engine is missing."""

from __future__ import annotations

import importlib
from types import ModuleType


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
