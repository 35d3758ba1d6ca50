"""Every runtime knob a user may need is a ``PARLEY_RUNTIME_*`` setting (issue 13).

A new ``RuntimeConfig`` field without a setting (and a line in ``.env.example``) fails here.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from bootstrap.runtime_settings import RuntimeSettings
from domain.runtime import RuntimeConfig

REPO = Path(__file__).resolve().parents[3]
NOT_SETTINGS = {"frame_ms": "fixed by the wire: 20 ms frames on every ACS and browser path"}


def test_every_runtime_knob_is_a_setting_listed_in_env_example() -> None:
    knobs = {f.name for f in dataclasses.fields(RuntimeConfig)} - set(NOT_SETTINGS)
    assert knobs <= set(RuntimeSettings.model_fields)
    listed = set(
        re.findall(r"^#?\s*PARLEY_RUNTIME_(\w+)=", (REPO / ".env.example").read_text(), re.M)
    )
    assert {k.upper() for k in knobs} <= listed


def test_every_exception_is_still_a_runtime_knob() -> None:
    assert set(NOT_SETTINGS) <= {f.name for f in dataclasses.fields(RuntimeConfig)}
