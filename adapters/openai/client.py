"""One ``openai`` async client per process: configuration, factory and close.

The client owns the connection pool, so it is created once (a dependency-injector
``providers.Resource`` in bootstrap, see :func:`client_resource`), shared by every call and
closed at shutdown. The SDK's own retries are off (``max_retries=0``): the adapter retries
with tenacity, and only before the first token.

Endpoints (docs/wire-protocols.md, "Azure OpenAI chat completions (SSE)"):

* ``kind="azure_openai"``: ``AsyncAzureOpenAI(azure_endpoint=..., api_version=...)``, posting
  to ``/openai/deployments/{deployment}/chat/completions?api-version=...``. The deployment is
  the request's ``model`` (``ModelOptions.model`` or the adapter's default), so each agent may
  use its own deployment over one client. Auth: ``api-key`` header, or a Microsoft Entra token
  (``Authorization: Bearer``) from ``azure.identity.aio`` ``DefaultAzureCredential`` or
  ``ManagedIdentityCredential`` through ``get_bearer_token_provider`` with scope
  ``https://cognitiveservices.azure.com/.default`` (docs: "How to configure Azure OpenAI with
  Microsoft Entra ID authentication").
* ``kind="openai"``: ``AsyncOpenAI(base_url=...)``, posting to ``{base_url}/chat/completions``
  with ``Authorization: Bearer``: vLLM, Ollama (``http://host:11434/v1``), llama.cpp server,
  or Azure's ``https://<resource>.openai.azure.com/openai/v1/``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import openai

logger = logging.getLogger(__name__)

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
"""Token scope for Azure OpenAI with Microsoft Entra ID."""

TokenProvider = Callable[[], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class OpenAIClientConfig:
    """How to reach the model endpoint.

    Attributes:
        kind: ``azure_openai`` or ``openai`` (any OpenAI-compatible server).
        endpoint: Azure resource endpoint (``https://<resource>.openai.azure.com``) for
            ``azure_openai``; ``base_url`` (``http://127.0.0.1:8000/v1``) for ``openai``;
            empty ``base_url`` means api.openai.com.
        api_version: Azure ``api-version`` query value.
        api_key: API key; ``None`` with ``azure_openai`` means Microsoft Entra ID.
        managed_identity_client_id: With Entra ID, use this user-assigned managed identity
            instead of ``DefaultAzureCredential``.
        connect_timeout_s: TCP/TLS connect timeout, seconds.
        read_timeout_s: Longest silence between two bytes of a response, seconds; a safety
            net behind the adapter's first-token and total deadlines.
        max_connections: Connection pool size.
        token_provider: Async callable returning a bearer token; overrides Entra ID (tests,
            custom identity).
    """

    kind: Literal["azure_openai", "openai"]
    endpoint: str = ""
    api_version: str = "2024-10-21"
    api_key: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 60.0
    max_connections: int = 100
    token_provider: TokenProvider | None = field(default=None, repr=False)


class OpenAIClient:
    """The process's SDK client plus the credential it may own; close with :meth:`aclose`.

    Attributes:
        sdk: The ``AsyncOpenAI`` (or ``AsyncAzureOpenAI``) client to hand to
            :class:`~adapters.openai.model.OpenAILanguageModel`.
    """

    def __init__(self, sdk: openai.AsyncOpenAI, credential: Any | None = None) -> None:
        self.sdk = sdk
        self._credential = credential

    async def aclose(self) -> None:
        """Close the connection pool and the Entra credential, if any. Idempotent."""
        try:
            await self.sdk.close()
        finally:
            if self._credential is not None:
                credential, self._credential = self._credential, None
                await credential.close()


def _entra_provider(config: OpenAIClientConfig) -> tuple[TokenProvider, Any]:
    try:
        from azure.identity.aio import (
            DefaultAzureCredential,
            ManagedIdentityCredential,
            get_bearer_token_provider,
        )
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "Microsoft Entra ID auth for Azure OpenAI needs azure-identity: "
            "pip install 'parley[azure]'"
        ) from exc
    credential: Any
    if config.managed_identity_client_id:
        credential = ManagedIdentityCredential(client_id=config.managed_identity_client_id)
    else:
        credential = DefaultAzureCredential()
    return get_bearer_token_provider(credential, ENTRA_SCOPE), credential


def create_client(config: OpenAIClientConfig) -> OpenAIClient:
    """Build the process's client. Connects to nothing until the first request.

    Args:
        config: Endpoint, auth and connection settings.

    Returns:
        An :class:`OpenAIClient`; close it with :meth:`OpenAIClient.aclose` at shutdown.

    Raises:
        ValueError: The configuration cannot work (names the missing setting).
    """
    if config.kind == "azure_openai" and not config.endpoint:
        raise ValueError("Azure OpenAI needs an endpoint (AZURE_OPENAI_ENDPOINT)")
    if config.kind == "azure_openai" and not config.api_version:
        raise ValueError("Azure OpenAI needs an api-version (AZURE_OPENAI_API_VERSION)")
    timeout = httpx2.Timeout(
        config.read_timeout_s,
        connect=config.connect_timeout_s,
        pool=config.connect_timeout_s,
    )
    http_client = httpx2.AsyncClient(
        timeout=timeout,
        limits=httpx2.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
        ),
    )
    credential: Any = None
    sdk: openai.AsyncOpenAI
    if config.kind == "azure_openai":
        token_provider = config.token_provider
        if config.api_key is None and token_provider is None:
            token_provider, credential = _entra_provider(config)
        sdk = openai.AsyncAzureOpenAI(
            azure_endpoint=config.endpoint,
            api_version=config.api_version,
            api_key=config.api_key,
            azure_ad_token_provider=token_provider if config.api_key is None else None,
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )
    else:
        # Local servers (Ollama, llama.cpp) ignore the key, but the SDK requires one.
        api_key: str | Callable[[], Awaitable[str]] = (
            config.token_provider or config.api_key or "unused"
        )
        sdk = openai.AsyncOpenAI(
            base_url=config.endpoint or None,
            api_key=api_key,
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )
    return OpenAIClient(sdk, credential)


async def aclose(client: OpenAIClient) -> None:
    """Close a client made by :func:`create_client` (for shutdown hooks)."""
    await client.aclose()


async def client_resource(config: OpenAIClientConfig) -> AsyncIterator[OpenAIClient]:
    """A dependency-injector ``providers.Resource`` initializer: create, yield, close.

    Example (bootstrap)::

        openai_client = providers.Resource(client_resource, config=...)
        llm = providers.Singleton(OpenAILanguageModel, client=openai_client.provided.sdk, ...)
    """
    client = create_client(config)
    try:
        yield client
    finally:
        await client.aclose()
