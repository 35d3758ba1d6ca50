"""Helpers of the realtime end-to-end tests: settings pointing Parley at the stand-in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import SecretStr

from bootstrap.realtime import with_pipeline
from bootstrap.settings import Settings
from tests.emulators.realtime_standin import API_KEY, BEARER, RealtimeStandin

from .acs_support import REPO_ROOT, offline_settings

REALTIME_AGENTS = REPO_ROOT / "tests" / "e2e" / "realtime_agents"


def realtime_settings(
    standin: RealtimeStandin, kind: str = "voicelive", agents_dir: Path = REALTIME_AGENTS
) -> Settings:
    """The offline default switched to ``PARLEY_PIPELINE=realtime`` over ``standin``."""
    settings = with_pipeline(offline_settings(), "realtime", realtime=kind)
    server = settings.server.model_copy(update={"agents_dir": agents_dir})
    return dataclasses.replace(
        settings,
        server=server,
        voicelive=settings.voicelive.model_copy(
            update={"endpoint": standin.base_url, "api_key": SecretStr(API_KEY)}
        ),
        openai=settings.openai.model_copy(
            update={"base_url": f"{standin.base_url}/v1", "api_key": SecretStr(BEARER)}
        ),
        azure_openai=settings.azure_openai.model_copy(
            update={"endpoint": standin.base_url, "api_key": SecretStr(API_KEY)}
        ),
    )
