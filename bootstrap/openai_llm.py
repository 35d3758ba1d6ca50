"""Factories for ``PARLEY_LLM=azure_openai`` and ``PARLEY_LLM=openai`` (selection table rows).

Each is an ``@asynccontextmanager``: it creates the process's one ``openai`` client (connection
pool) when the app starts, yields the :class:`~adapters.openai.OpenAILanguageModel` every call
shares, and closes the client (and its Entra credential) when the app stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ports import LanguageModel

if TYPE_CHECKING:
    from bootstrap.factories import BuildContext


@contextlib.asynccontextmanager
async def azure_openai_llm(ctx: BuildContext) -> AsyncIterator[LanguageModel]:
    """Azure OpenAI from ``AZURE_OPENAI_*``: API key, or Entra ID when the key is empty."""
    from adapters.openai import (
        ModelDefaults,
        ModelTimeouts,
        OpenAIClientConfig,
        OpenAILanguageModel,
        client_resource,
    )

    s = ctx.settings.azure_openai
    config = OpenAIClientConfig(
        kind="azure_openai",
        endpoint=s.endpoint,
        api_version=s.api_version,
        api_key=s.api_key.get_secret_value() if s.api_key else None,
        managed_identity_client_id=s.managed_identity_client_id or None,
        connect_timeout_s=s.connect_timeout_s,
        read_timeout_s=s.timeout_s,
    )
    async for client in client_resource(config):
        yield OpenAILanguageModel(
            client.sdk,
            defaults=ModelDefaults(model=s.deployment),
            timeouts=ModelTimeouts(first_token_s=s.first_token_timeout_s, total_s=s.timeout_s),
        )


@contextlib.asynccontextmanager
async def openai_llm(ctx: BuildContext) -> AsyncIterator[LanguageModel]:
    """Any OpenAI-compatible server from ``OPENAI_*`` (vLLM, Ollama, llama.cpp, Azure v1)."""
    from adapters.openai import (
        ModelDefaults,
        ModelTimeouts,
        OpenAIClientConfig,
        OpenAILanguageModel,
        client_resource,
    )

    s = ctx.settings.openai
    config = OpenAIClientConfig(
        kind="openai",
        endpoint=s.base_url,
        api_key=s.api_key.get_secret_value() if s.api_key else None,
        connect_timeout_s=s.connect_timeout_s,
        read_timeout_s=s.timeout_s,
    )
    async for client in client_resource(config):
        yield OpenAILanguageModel(
            client.sdk,
            defaults=ModelDefaults(model=s.model),
            timeouts=ModelTimeouts(first_token_s=s.first_token_timeout_s, total_s=s.timeout_s),
        )
