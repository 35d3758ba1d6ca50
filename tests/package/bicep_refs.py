"""What a Bicep file declares and which names its expressions use (for the offline checks).

``pycep`` (the parser checkov uses) gives the declarations; it does not keep the difference
between the identifier ``location`` and the string ``'location'``, so the names an expression
uses are read from the source with a small scanner: comments and string literals are dropped,
``${...}`` interpolations are kept, object keys (``name:``), member names (``.outputs``),
decorators and function names (``name(``) are not references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycep import BicepParser

KEYWORDS = frozenset(
    {
        "param", "var", "resource", "module", "output", "existing", "if", "for", "in", "true",
        "false", "null", "targetScope", "import", "type", "metadata", "func",
        "string", "int", "bool", "object", "array", "az", "sys",
    }
)  # fmt: skip
_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclass
class BicepFile:
    """One parsed Bicep file."""

    path: Path
    tree: dict[str, Any]
    source: str
    loop_names: set[str] = field(default_factory=set)

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.tree.get("parameters", {}))

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.tree.get("outputs", {}))

    @property
    def modules(self) -> dict[str, Any]:
        return dict(self.tree.get("modules", {}))

    def declared(self) -> set[str]:
        names = set()
        for section in ("parameters", "variables", "resources", "modules"):
            names.update(self.tree.get(section, {}))
        return names | self.loop_names

    def required_parameters(self) -> set[str]:
        return {name for name, p in self.parameters.items() if "default" not in p}


def parse(path: Path) -> BicepFile:
    """Parse ``path`` with pycep (raises on a syntax error) and note its loop variables."""
    source = path.read_text()
    tree = BicepParser().parse(text=source)
    loops = set(re.findall(r"\[\s*for\s+(?:\(\s*)?([A-Za-z_]\w*)", source))
    loops |= set(re.findall(r"\[\s*for\s+\(\s*[A-Za-z_]\w*\s*,\s*([A-Za-z_]\w*)", source))
    return BicepFile(path, tree, source, loops)


def _code_fragments(source: str) -> list[str]:
    """The source without comments and string literals, keeping ``${...}`` contents."""
    code: list[str] = []
    i, n = 0, len(source)
    current: list[str] = []
    while i < n:
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif source.startswith("'''", i):
            end = source.find("'''", i + 3)
            i = n if end < 0 else end + 3
            current.append(" '' ")
        elif source[i] == "'":
            i += 1
            current.append(" '' ")
            while i < n and source[i] != "'":
                if source[i] == "\\":
                    i += 2
                    continue
                if source.startswith("${", i):
                    depth, j = 1, i + 2
                    while j < n and depth:
                        depth += {"{": 1, "}": -1}.get(source[j], 0)
                        j += 1
                    code.append(source[i + 2 : j - 1])
                    i = j
                    continue
                i += 1
            i += 1
        else:
            current.append(source[i])
            i += 1
    code.append("".join(current))
    return code


def referenced_names(source: str) -> set[str]:
    """Identifiers an expression of ``source`` refers to (see the module docstring)."""
    names: set[str] = set()
    for fragment in _code_fragments(source):
        for match in _IDENT.finditer(fragment):
            name, start, end = match.group(), match.start(), match.end()
            before = fragment[:start].rstrip()
            after = fragment[end:].lstrip()
            if before.endswith((".", "@", "?.")) or after.startswith("("):
                continue
            line_start = fragment.rfind("\n", 0, start) + 1
            if after.startswith(":") and (
                before.endswith(("{", ",")) or not fragment[line_start:start].strip()
            ):
                continue  # an object key
            if before.split()[-1:] in (["param"], ["var"], ["resource"], ["module"], ["output"]):
                continue  # the declaration's own name
            names.add(name)
    return names - KEYWORDS


def module_output_references(source: str) -> set[tuple[str, str]]:
    """``(module, output)`` pairs of every ``module.outputs.name`` in ``source``."""
    return set(re.findall(r"\b([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)", source))
