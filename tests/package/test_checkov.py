"""checkov scans the Dockerfile and the Bicep files: no failed check, every skip has a reason.

checkov pins many dependencies of its own, so it lives in its own venv,
``.venv/tools/checkov`` (``make tools``, which ``make test`` runs first). It runs offline
(``--skip-download``: no policy or guideline download).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .wheel_support import REPO

CHECKOV = REPO / ".venv" / "tools" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def reports() -> list[dict]:
    if not CHECKOV.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: `make tools` installs checkov")
        pytest.skip(f"{CHECKOV} is missing: run `make tools`")
    result = subprocess.run(  # noqa: S603 (checkov from its own venv)
        [
            str(CHECKOV), "--directory", str(REPO), "--framework", "bicep", "dockerfile",
            "--skip-path", ".venv", "--skip-path", "tests", "--skip-download",
            "--output", "json",
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def test_checkov_scans_the_dockerfile_and_the_bicep_files(reports: list[dict]) -> None:
    scanned = {report["check_type"]: report["summary"] for report in reports}
    assert set(scanned) == {"bicep", "dockerfile"}
    assert all(summary["passed"] > 10 for summary in scanned.values()), scanned
    assert all(summary["parsing_errors"] == 0 for summary in scanned.values()), scanned


def test_no_check_fails(reports: list[dict]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for report in reports
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_skipped_check_says_why(reports: list[dict]) -> None:
    skipped = [c for report in reports for c in report["results"]["skipped_checks"]]
    assert skipped, "no suppression found: the parser no longer reads them"
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{check['check_id']} in {check['file_path']}: {reason!r}"
