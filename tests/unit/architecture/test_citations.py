"""Every citation in the code can be followed by a new reader.

Docstrings and comments cite public pages or files of this repository (``docs/*.md``, with a
section title for ``docs/wire-protocols.md``). A file outside the repository (the shared
protocol notes the project was started from) cannot be followed, so it is never cited.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FOLDERS = ("domain", "ports", "adapters", "bootstrap", "parley", "tests", "benchmarks", "agents")
SUFFIXES = {".py", ".js", ".html", ".css", ".yaml", ".toml", ".md", ".j2"}
OUTSIDE = "PROTOCOLS" + ".md"  # spelled apart so this file does not cite it
WIRE = "docs/wire-protocols.md"
DOC_PATH = re.compile(r"\bdocs/[A-Za-z0-9_./-]+\.(?:md|png)\b")
WIRE_SECTION = re.compile(re.escape(WIRE) + r',\s+"([^"]+)"')


def _sources() -> list[Path]:
    files = [REPO / "pyproject.toml", REPO / "Makefile", REPO / "README.md"]
    for folder in FOLDERS:
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return files


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def test_no_file_cites_notes_that_are_not_in_the_repository() -> None:
    citing = [str(p.relative_to(REPO)) for p in _sources() if OUTSIDE in _text(p)]
    assert citing == []


def test_every_cited_docs_file_exists() -> None:
    missing = {
        f"{path.relative_to(REPO)}: {cited}"
        for path in _sources()
        for cited in DOC_PATH.findall(_text(path))
        if not (REPO / cited).exists()
    }
    assert missing == set()


def test_every_cited_wire_protocol_section_exists() -> None:
    headings = {
        line.lstrip("#").strip() for line in _text(REPO / WIRE).splitlines() if line.startswith("#")
    }
    unknown = {
        f"{path.relative_to(REPO)}: {' '.join(section.split())}"
        for path in _sources()
        for section in WIRE_SECTION.findall(_text(path))
        if " ".join(section.split()) not in headings
    }
    assert unknown == set()


def test_the_section_check_reads_a_citation_across_a_line_break() -> None:
    text = f'({WIRE}, "ACS media\n    streaming WebSocket")'
    assert [" ".join(s.split()) for s in WIRE_SECTION.findall(text)] == [
        "ACS media streaming WebSocket"
    ]
