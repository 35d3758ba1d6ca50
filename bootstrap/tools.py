"""Loading the tools module: a Python file, by path, at start (never at import).

Where it lives: ``PARLEY_TOOLS_MODULE`` names the file; when unset, ``<PARLEY_AGENTS_DIR>/tools.py``
is used if it exists (the example bank scenario ships ``agents/tools.py``), and no tools
otherwise. The file is executed with :mod:`importlib` from its path, so it need not be on
``sys.path`` or in a package; it is registered in ``sys.modules`` under ``parley_tools_<hash>``
(as the importlib recipe for source files does) and re-executed on every load, so each load
gets fresh tools.

What it must define, preferably:

* ``register_tools(registry: ToolRegistry) -> None``: called with a fresh registry per
  application, so tools can close over per-app objects (clients, fake data) and no state is
  global;

or, for small scripts:

* a module-level ``registry = ToolRegistry()`` that its ``@registry.tool`` functions fill.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
from pathlib import Path

from adapters.tools import ToolRegistry

logger = logging.getLogger(__name__)


class ToolsModuleError(ValueError):
    """The tools module is missing, fails to import or defines no tools."""


def load_tool_registry(path: Path, *, required: bool) -> ToolRegistry:
    """Execute the tools file at ``path`` and return its tools.

    Args:
        path: The Python file.
        required: True when ``PARLEY_TOOLS_MODULE`` named it explicitly (missing is an error);
            False for the default ``<agents_dir>/tools.py`` (missing means no tools).

    Returns:
        A registry holding the module's tools.

    Raises:
        ToolsModuleError: Naming ``PARLEY_TOOLS_MODULE`` and the path, with the cause.
    """
    if not path.is_file():
        if required:
            raise ToolsModuleError(f"PARLEY_TOOLS_MODULE: {path} does not exist")
        logger.info("no tools module at %s; agents have no tools", path)
        return ToolRegistry()
    # A unique module name per file: the importlib recipe for "importing a source file
    # directly" registers it in sys.modules so dataclasses and pydantic can resolve it.
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"parley_tools_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ToolsModuleError(f"PARLEY_TOOLS_MODULE: {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ToolsModuleError(
            f"PARLEY_TOOLS_MODULE: {path} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    register = getattr(module, "register_tools", None)
    if callable(register):
        registry = ToolRegistry()
        try:
            register(registry)
        except Exception as exc:
            raise ToolsModuleError(
                f"PARLEY_TOOLS_MODULE: {path}: register_tools failed: {type(exc).__name__}: {exc}"
            ) from exc
        return registry
    existing = getattr(module, "registry", None)
    if isinstance(existing, ToolRegistry):
        return existing
    raise ToolsModuleError(
        f"PARLEY_TOOLS_MODULE: {path} defines neither register_tools(registry) nor a"
        " module-level `registry = ToolRegistry()`"
    )
