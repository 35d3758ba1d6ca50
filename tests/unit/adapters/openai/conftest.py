"""Fixtures: one OpenAI stand-in per session (uvicorn on 127.0.0.1), clients for both paths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.openai import (
    ModelDefaults,
    ModelTimeouts,
    OpenAIClient,
    OpenAIClientConfig,
    OpenAILanguageModel,
    RetryPolicy,
    create_client,
)
from tests.emulators.openai_standin import OpenAIStandin, running_standin

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture(scope="session")
def _standin_server() -> Iterator[OpenAIStandin]:
    with running_standin() as standin:
        yield standin


@pytest.fixture
def standin(_standin_server: OpenAIStandin) -> Iterator[OpenAIStandin]:
    """The running stand-in, with no scripted reply and no recorded request."""
    _standin_server.reset()
    yield _standin_server
    _standin_server.reset()


def azure_config(standin: OpenAIStandin, **overrides: Any) -> OpenAIClientConfig:
    values: dict[str, Any] = {
        "kind": "azure_openai",
        "endpoint": standin.azure_endpoint,
        "api_version": "2024-10-21",
        "api_key": standin.api_key,
        "connect_timeout_s": 1.0,
    }
    values.update(overrides)
    return OpenAIClientConfig(**values)


def openai_config(standin: OpenAIStandin, **overrides: Any) -> OpenAIClientConfig:
    values: dict[str, Any] = {
        "kind": "openai",
        "endpoint": standin.openai_base_url,
        "api_key": standin.bearer_token,
        "connect_timeout_s": 1.0,
    }
    values.update(overrides)
    return OpenAIClientConfig(**values)


@pytest.fixture(params=["azure_openai", "openai"])
async def client(
    request: pytest.FixtureRequest, standin: OpenAIStandin
) -> AsyncIterator[OpenAIClient]:
    """A client for each endpoint kind, closed after the test."""
    config = azure_config(standin) if request.param == "azure_openai" else openai_config(standin)
    made = create_client(config)
    yield made
    await made.aclose()


@pytest.fixture
async def azure_client(standin: OpenAIStandin) -> AsyncIterator[OpenAIClient]:
    made = create_client(azure_config(standin))
    yield made
    await made.aclose()


def make_model(
    client: OpenAIClient,
    *,
    timeouts: ModelTimeouts | None = None,
    retry: RetryPolicy | None = None,
    **defaults: Any,
) -> OpenAILanguageModel:
    return OpenAILanguageModel(
        client.sdk,
        defaults=ModelDefaults(**{"model": "gpt-test", **defaults}),
        timeouts=timeouts or ModelTimeouts(first_token_s=5.0, total_s=10.0),
        retry=retry or FAST_RETRY,
    )


@pytest.fixture
def model(client: OpenAIClient) -> OpenAILanguageModel:
    """The adapter over each endpoint kind."""
    return make_model(client)


@pytest.fixture
def azure_model(azure_client: OpenAIClient) -> OpenAILanguageModel:
    """The adapter over Azure only."""
    return make_model(azure_client)
