"""e2e fixtures and reports.

``pytest_terminal_summary`` prints the word error rate tables that the offline-engine tests
(``test_local_stt_real_speech.py``) collect, so plain ``pytest`` output (and CI) shows them.
"""

from __future__ import annotations

import pytest

from tests.e2e.local_support import WER_TABLES


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tables = config.stash.get(WER_TABLES, [])
    if not tables:
        return
    terminalreporter.section("word error rate (offline speech-to-text)")
    for table in tables:
        for line in table.lines():
            terminalreporter.write_line(line)
