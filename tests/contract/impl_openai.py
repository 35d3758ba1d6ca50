"""The OpenAI language model adapter under contract, through the local OpenAI stand-in.

The real ``openai`` SDK talks to ``tests/emulators/openai_standin.py`` on 127.0.0.1, over the
Azure path (``/openai/deployments/{deployment}/chat/completions``, ``api-key``) and the
OpenAI-compatible path (``/v1/chat/completions``, bearer token). The stand-in answers by the
request's model (deployment) name, so every rigged adapter gets its failure without any
shared script: a slow first token, 429s, 500s, a filtered completion, a filtered prompt, a
dropped connection after two deltas, and a refused key.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from parley.contract import Failing, LanguageModelCase
from ports import (
    AuthenticationError,
    ContentFilteredError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from tests.emulators.openai_standin import (
    OpenAIStandin,
    Reply,
    ScriptedToolCall,
    prompt_filtered,
    rate_limited,
    running_standin,
    server_error,
)

_FAILING_REPLIES = {
    "slow-first-token": Reply(text="too late", first_token_delay_s=30.0),
    "stalling": Reply(text="never heard", first_token_delay_s=60.0),
    "rate-limited": rate_limited(0.01),
    "server-error": server_error(500),
    "filtered-completion": Reply(text="Here is how to", content_filter=True),
    "filtered-prompt": prompt_filtered(),
    "dropped": Reply(text="one two three four", chunk_chars=4, disconnect_after=2),
}


def contract_responder(body: dict[str, Any]) -> Reply:
    """Answer by model name: rigged failures, else the contract's weather/hello requests."""
    rigged = _FAILING_REPLIES.get(str(body.get("model")))
    if rigged is not None:
        return rigged
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    if "get_weather" in tools:
        return Reply(
            tool_calls=(ScriptedToolCall("get_weather", json.dumps({"city": "Paris"})),),
            argument_chunk_chars=2,
        )
    return Reply(text="Hello! How can I help you today?", chunk_chars=5)


@pytest.fixture(scope="session")
def contract_openai_standin() -> Iterator[OpenAIStandin]:
    with running_standin(OpenAIStandin(responder=contract_responder)) as running:
        yield running


async def _case(standin: OpenAIStandin, kind: str) -> AsyncIterator[LanguageModelCase]:
    from adapters.openai import (
        ModelDefaults,
        ModelTimeouts,
        OpenAIClient,
        OpenAIClientConfig,
        OpenAILanguageModel,
        RetryPolicy,
        create_client,
    )
    from tests.contract.conftest import _model_requests

    def config(api_key: str | None = None) -> OpenAIClientConfig:
        if kind == "azure_openai":
            return OpenAIClientConfig(
                kind="azure_openai",
                endpoint=standin.azure_endpoint,
                api_key=api_key or standin.api_key,
                connect_timeout_s=1.0,
            )
        return OpenAIClientConfig(
            kind="openai",
            endpoint=standin.openai_base_url,
            api_key=api_key or standin.bearer_token,
            connect_timeout_s=1.0,
        )

    # One client (connection pool) serves every model name, as in production; creating a
    # client builds an SSL context, which is slow, so the refused key gets the only other one.
    clients: list[OpenAIClient] = [create_client(config()), create_client(config("wrong-key"))]

    def model(
        name: str = "contract-model",
        *,
        refused_key: bool = False,
        first_token_s: float = 10.0,
    ) -> OpenAILanguageModel:
        return OpenAILanguageModel(
            clients[1 if refused_key else 0].sdk,
            defaults=ModelDefaults(model=name),
            timeouts=ModelTimeouts(first_token_s=first_token_s, total_s=max(20.0, first_token_s)),
            retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02),
        )

    text, tool = _model_requests()
    failures = [
        Failing(ProviderTimeoutError, model("slow-first-token", first_token_s=0.2), "first token"),
        Failing(RateLimitedError, model("rate-limited"), "429 on every attempt"),
        Failing(ProviderUnavailableError, model("server-error"), "500 on every attempt"),
        Failing(ProviderUnavailableError, model("dropped"), "connection dropped mid-stream"),
        Failing(ContentFilteredError, model("filtered-completion"), "completion filtered"),
        Failing(ContentFilteredError, model("filtered-prompt"), "prompt filtered (400)"),
        Failing(AuthenticationError, model(refused_key=True), "refused key"),
    ]
    try:
        yield LanguageModelCase(
            model=model(),
            text_request=text,
            tool_request=tool,
            expected_tool="get_weather",
            expected_arguments={"city": "Paris"},
            stalling=model("stalling", first_token_s=120.0),
            failures=failures,
        )
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def azure_openai_language_model(
    contract_openai_standin: OpenAIStandin,
) -> AsyncIterator[LanguageModelCase]:
    async for case in _case(contract_openai_standin, "azure_openai"):
        yield case


@pytest.fixture
async def openai_language_model(
    contract_openai_standin: OpenAIStandin,
) -> AsyncIterator[LanguageModelCase]:
    async for case in _case(contract_openai_standin, "openai"):
        yield case
