"""Relocate the design's four top-level packages under ``parley`` in the built wheel.

The repository keeps ``domain``, ``ports``, ``adapters`` and ``bootstrap`` at its top level
(the hexagon's floors, docs/adr/0001); a wheel that installed them as they are would put four
generic names into site-packages, where another distribution's ``domain`` or ``adapters``
would overwrite them or be overwritten. The wheel ships them as ``parley.domain``,
``parley.ports``, ``parley.adapters`` and ``parley.bootstrap`` instead (docs/adr/0007).

What changes in the copies that go into the wheel (the sources are never touched):

* absolute imports: ``from domain.x import y`` -> ``from parley.domain.x import y``,
  ``import ports.x as y`` -> ``import parley.ports.x as y`` (relative imports stay as they are);
* string constants that are dotted import paths of those packages, alone or with an
  attribute (``"bootstrap.factories:local_stt"``, ``"adapters.local.stt"``): the selection
  table and ``uvicorn.run("bootstrap.app:...")`` name factories and modules this way.

Refused, with the file and line (the repository's tests run :func:`check_tree` so a refusal
shows up in ``make test``, not only at release time):

* ``import domain.x`` without ``as``: it binds ``domain``, which has no equivalent one-name
  rewrite; write ``from domain.x import y`` or ``import domain.x as y``;
* anything the rewrite could not reach: after rewriting, no import statement and no string
  constant may still name a bare internal package (a dotted path built with an f-string or
  by concatenation is caught here when its pieces join in a constant, and otherwise by the
  wheel test that runs the installed commands from an empty folder).

Standard library only (``tokenize``, ``ast``): it runs inside the PEP 517 build.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

INTERNAL = ("domain", "ports", "adapters", "bootstrap")
"""The top-level packages of the repository that move under :data:`NAMESPACE` in the wheel."""

NAMESPACE = "parley"
"""The one top-level import package the wheel installs."""

_NAMES = "|".join(INTERNAL)
_DOTTED_PATH = re.compile(
    rf"^(?:{_NAMES})(?:(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_][\w.]*)?|:[A-Za-z_][\w.]*)$"
)
"""A dotted import path (``pkg.mod``, ``pkg.mod:attr``, ``pkg:attr``) rooted at an internal
package; a bare ``"adapters"`` (a container attribute, a word) is not one."""

_CODE_IMPORT = re.compile(rf"(?:^|[;\n])\s*(?:from|import)\s+(?:{_NAMES})\b")
"""An import statement of an internal package inside a string (code run with ``python -c``)."""

_STATEMENT_START = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT}


class RelocationError(ValueError):
    """A source construct the relocation cannot rewrite safely; names file and line."""


class _Edit(NamedTuple):
    row: int  # 1-based line
    col: int  # 0-based column of the insertion
    text: str


def _is_dotted_path(value: str) -> bool:
    return bool(_DOTTED_PATH.match(value))


def _string_edit(token: tokenize.TokenInfo) -> _Edit | None:
    """The insertion that prefixes a string token holding a dotted path, if it is one."""
    text = token.string
    prefix_len = len(text) - len(text.lstrip("rRuUbBfF"))
    prefix = text[:prefix_len].lower()
    if "f" in prefix or "b" in prefix:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if not isinstance(value, str) or not _is_dotted_path(value):
        return None
    quote = 3 if text[prefix_len:].startswith(('"""', "'''")) else 1
    if text[prefix_len + quote :].split(value, 1)[0]:
        return None  # an escape or line break precedes the value: leave it to check_source
    return _Edit(token.start[0], token.start[1] + prefix_len + quote, f"{NAMESPACE}.")


def _significant(tokens: list[tokenize.TokenInfo], start: int) -> Iterator[int]:
    """Indexes of the tokens from ``start`` on that are not comments or line continuations."""
    for index in range(start, len(tokens)):
        if tokens[index].type not in (tokenize.COMMENT, tokenize.NL):
            yield index


def _import_edits(tokens: list[tokenize.TokenInfo], at: int, where: str) -> list[_Edit]:
    """Edits for the import statement whose first keyword is ``tokens[at]``."""
    keyword = tokens[at].string
    following = _significant(tokens, at + 1)
    edits: list[_Edit] = []
    if keyword == "from":
        first = tokens[next(following)]
        if first.type == tokenize.NAME and first.string in INTERNAL:
            edits.append(_Edit(first.start[0], first.start[1], f"{NAMESPACE}."))
        return edits
    # ``import a.b [as c], d [as e]`` up to the end of the logical line.
    expect_name = True
    current: tokenize.TokenInfo | None = None
    aliased = False
    for index in following:
        token = tokens[index]
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.string == ";":
            break
        if expect_name and token.type == tokenize.NAME:
            current, aliased, expect_name = token, False, False
        elif token.string == "as":
            aliased = True
        elif token.string == ",":
            edits.extend(_plain_import_edit(current, aliased, where))
            expect_name = True
    edits.extend(_plain_import_edit(current, aliased, where))
    return edits


def _plain_import_edit(
    first: tokenize.TokenInfo | None, aliased: bool, where: str
) -> Iterable[_Edit]:
    if first is None or first.string not in INTERNAL:
        return ()
    if not aliased:
        raise RelocationError(
            f"{where}:{first.start[0]}: `import {first.string}...` binds the name"
            f" {first.string!r}, which does not exist in the wheel (it ships"
            f" {NAMESPACE}.{first.string}); write `from {first.string}.x import y` or"
            f" `import {first.string}.x as y`"
        )
    return (_Edit(first.start[0], first.start[1], f"{NAMESPACE}."),)


def rewrite_source(source: str, where: str = "<source>") -> str:
    """The module source with its internal imports and dotted-path strings under ``parley``.

    Args:
        source: Python source text.
        where: File name for error messages.

    Returns:
        The rewritten source; every line keeps its number, so tracebacks still point right.

    Raises:
        RelocationError: An ``import pkg.x`` without ``as``, or (from :func:`check_source`)
            a reference the rewrite could not reach.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[_Edit] = []
    previous: tokenize.TokenInfo | None = None
    for index, token in enumerate(tokens):
        if token.type == tokenize.COMMENT:
            continue
        at_start = (
            previous is None
            or previous.type in _STATEMENT_START
            or (previous.type == tokenize.OP and previous.string in (";", ":"))
        )
        if token.type == tokenize.NAME and token.string in ("from", "import") and at_start:
            edits.extend(_import_edits(tokens, index, where))
        elif token.type == tokenize.STRING:
            edit = _string_edit(token)
            if edit is not None:
                edits.append(edit)
        previous = token
    lines = source.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e.row, e.col), reverse=True):
        line = lines[edit.row - 1]
        lines[edit.row - 1] = line[: edit.col] + edit.text + line[edit.col :]
    rewritten = "".join(lines)
    check_source(rewritten, where)
    return rewritten


def check_source(source: str, where: str = "<source>") -> None:
    """Refuse a relocated module that still names a bare internal package.

    Raises:
        RelocationError: An import statement or a string constant does, naming the line.
    """
    tree = ast.parse(source, filename=where)
    docstrings = {
        id(body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and _CODE_IMPORT.search(node.value)
        ):
            raise RelocationError(
                f"{where}:{node.lineno}: {node.value[:60]!r} is Python code importing a"
                " top-level package, which the build cannot rewrite; run a module by its"
                " whole dotted path instead (`python -m bootstrap.cli`)"
            )
        bare: str | None = None
        if isinstance(node, ast.Import):
            bare = next((a.name for a in node.names if a.name.split(".")[0] in INTERNAL), None)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            bare = node.module if node.module.split(".")[0] in INTERNAL else None
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            bare = node.value if _is_dotted_path(node.value) else None
        if bare is not None:
            raise RelocationError(
                f"{where}:{getattr(node, 'lineno', '?')}: {bare!r} still names a top-level"
                f" package; in the wheel it is {NAMESPACE}.{bare}. Use a plain import or a"
                " whole dotted-path string constant, which the build rewrites"
            )


def python_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``root``, sorted."""
    yield from sorted(root.rglob("*.py"))


def check_tree(root: Path) -> list[str]:
    """Dry-run the rewrite over the repository's packages; return every problem found.

    Args:
        root: The repository root (holding ``domain/``, ``ports/``...).
    """
    problems: list[str] = []
    for package in (*INTERNAL, NAMESPACE):
        for path in python_files(root / package):
            try:
                rewrite_source(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
            except (RelocationError, SyntaxError) as exc:
                problems.append(str(exc))
    return problems


def relocate_tree(build_lib: Path) -> list[Path]:
    """Move ``build_lib/<pkg>`` to ``build_lib/parley/<pkg>`` and rewrite every module.

    Args:
        build_lib: setuptools' build directory, after ``build_py`` copied the packages.

    Returns:
        The Python files rewritten.

    Raises:
        RelocationError: A module cannot be relocated (see :func:`rewrite_source`), or a
            moved package would land on a module ``parley`` already has.
    """
    target = build_lib / NAMESPACE
    for package in INTERNAL:
        source = build_lib / package
        if not source.is_dir():
            continue
        destination = target / package
        if (target / f"{package}.py").exists():
            raise RelocationError(f"{NAMESPACE}/{package}.py would shadow {NAMESPACE}.{package}")
        if destination.exists():
            shutil.rmtree(destination)
        source.rename(destination)
    rewritten = []
    for path in python_files(target):
        text = path.read_text(encoding="utf-8")
        new = rewrite_source(text, str(path.relative_to(build_lib)))
        if new != text:
            path.write_text(new, encoding="utf-8")
        rewritten.append(path)
    return rewritten
