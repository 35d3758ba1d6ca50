"""The wheel's relocation of domain/ports/adapters/bootstrap under ``parley`` (ADR 0007)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from .conftest import REPO


def test_absolute_imports_of_the_four_packages_move_under_parley(relocate: ModuleType) -> None:
    source = (
        "from __future__ import annotations\n"
        "import os, json\n"
        "from domain.session import Conversation\n"
        "from ports import (\n    AudioFrame,\n)\n"
        "import adapters.local.stt as stt\n"
        "if True:\n    from bootstrap.settings import Settings  # lazy\n"
        "def f():\n    from adapters.memory import FakeVad; return FakeVad\n"
        "from . import sibling\n"
        "from .domain import x\n"
        "from domainish import y\n"
    )
    out = relocate.rewrite_source(source)
    assert "from parley.domain.session import Conversation\n" in out
    assert "from parley.ports import (\n" in out
    assert "import parley.adapters.local.stt as stt\n" in out
    assert "    from parley.bootstrap.settings import Settings  # lazy\n" in out
    assert "from parley.adapters.memory import FakeVad" in out
    # Relative imports and look-alike names stay; line numbers never move.
    assert "from . import sibling\nfrom .domain import x\nfrom domainish import y\n" in out
    assert out.count("\n") == source.count("\n")


def test_dotted_path_strings_move_and_plain_words_do_not(relocate: ModuleType) -> None:
    source = (
        'A = "bootstrap.factories:local_stt"\n'
        "B = 'adapters.local.stt'\n"
        'C = "adapters"\n'
        'D = "bootstrap:create_app"\n'
        'E = "the adapters.local package"\n'
        'F = f"adapters.{name}"\n'
        'G = b"domain.session"\n'
    )
    out = relocate.rewrite_source(source)
    assert 'A = "parley.bootstrap.factories:local_stt"' in out
    assert "B = 'parley.adapters.local.stt'" in out
    assert 'C = "adapters"' in out
    assert 'D = "parley.bootstrap:create_app"' in out
    assert 'E = "the adapters.local package"' in out
    assert 'F = f"adapters.{name}"' in out
    assert 'G = b"domain.session"' in out


def test_yield_from_and_raise_from_are_not_imports(relocate: ModuleType) -> None:
    source = "def g(domain):\n    yield from domain\n    raise ValueError() from domain\n"
    assert relocate.rewrite_source(source) == source


def test_an_unaliased_dotted_import_is_refused_naming_file_and_line(relocate: ModuleType) -> None:
    with pytest.raises(relocate.RelocationError, match=r"x\.py:2: `import domain\.\.\.` binds"):
        relocate.rewrite_source("import os\nimport domain.session\n", "x.py")


def test_a_dotted_path_the_rewrite_cannot_reach_is_refused(relocate: ModuleType) -> None:
    # Implicit concatenation: each piece alone is no dotted path, the constant is.
    with pytest.raises(relocate.RelocationError, match=r"y\.py:1: 'adapters\.local'"):
        relocate.rewrite_source('X = ("adapters." "local")\n', "y.py")


def test_code_in_a_string_that_imports_an_internal_package_is_refused(
    relocate: ModuleType,
) -> None:
    # `python -c "from bootstrap.cli import main; main()"` would fail in the wheel.
    with pytest.raises(relocate.RelocationError, match=r"z\.py:2: .*python -m"):
        relocate.rewrite_source(
            '"""Doc: from domain.x import y."""\nC = "from bootstrap.cli import main"\n', "z.py"
        )


def test_every_module_of_the_repository_can_be_relocated(relocate: ModuleType) -> None:
    assert relocate.check_tree(REPO) == []


def test_relocating_a_build_tree_moves_the_packages_under_parley(
    relocate: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "parley").mkdir()
    (tmp_path / "parley" / "cli.py").write_text("from bootstrap.cli import main\n")
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "cli.py").write_text('from ports import X\nAPP = "bootstrap.app:a"\n')
    (tmp_path / "bootstrap" / "static.txt").write_text("data")
    relocate.relocate_tree(tmp_path)
    assert not (tmp_path / "bootstrap").exists()
    assert (tmp_path / "parley" / "bootstrap" / "static.txt").read_text() == "data"
    assert (tmp_path / "parley" / "bootstrap" / "cli.py").read_text() == (
        'from parley.ports import X\nAPP = "parley.bootstrap.app:a"\n'
    )
    assert (tmp_path / "parley" / "cli.py").read_text() == "from parley.bootstrap.cli import main\n"
