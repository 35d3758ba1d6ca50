"""Loading the tools module by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.tools import ToolsModuleError, load_tool_registry


def test_register_tools_gets_a_fresh_registry_each_load(tmp_path: Path) -> None:
    path = tmp_path / "tools.py"
    path.write_text(
        "from adapters.tools import ToolRegistry\n"
        "def register_tools(registry: ToolRegistry) -> None:\n"
        "    @registry.tool\n"
        "    async def ping() -> str:\n"
        "        '''Answer pong.'''\n"
        "        return 'pong'\n"
    )
    first = load_tool_registry(path, required=True)
    second = load_tool_registry(path, required=True)
    assert first.names() == second.names() == {"ping"}
    assert first is not second


def test_a_module_level_registry_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tools.py"
    path.write_text(
        "from adapters.tools import ToolRegistry\n"
        "registry = ToolRegistry()\n"
        "@registry.tool\n"
        "def ping() -> str:\n"
        "    '''Answer pong.'''\n"
        "    return 'pong'\n"
    )
    assert load_tool_registry(path, required=True).names() == {"ping"}


def test_a_missing_default_module_means_no_tools(tmp_path: Path) -> None:
    assert len(load_tool_registry(tmp_path / "tools.py", required=False)) == 0


def test_a_missing_configured_module_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ToolsModuleError, match="PARLEY_TOOLS_MODULE: .* does not exist"):
        load_tool_registry(tmp_path / "tools.py", required=True)


def test_an_import_error_names_the_setting_and_cause(tmp_path: Path) -> None:
    path = tmp_path / "tools.py"
    path.write_text("import not_a_module_anywhere\n")
    with pytest.raises(ToolsModuleError, match="PARLEY_TOOLS_MODULE: .*ModuleNotFoundError"):
        load_tool_registry(path, required=True)


def test_a_module_without_tools_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tools.py"
    path.write_text("x = 1\n")
    with pytest.raises(ToolsModuleError, match="register_tools"):
        load_tool_registry(path, required=True)
