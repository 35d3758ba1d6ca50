"""The process's client: factory, Entra credential, resource lifecycle."""

from __future__ import annotations

import openai
import pytest

from adapters.openai import OpenAIClientConfig, client_resource, create_client


async def test_azure_without_a_key_uses_an_entra_credential_and_closes_it() -> None:
    client = create_client(
        OpenAIClientConfig(kind="azure_openai", endpoint="https://example.openai.azure.com")
    )
    try:
        assert isinstance(client.sdk, openai.AsyncAzureOpenAI)
        assert client._credential is not None
    finally:
        await client.aclose()
    assert client._credential is None
    assert client.sdk.is_closed()


async def test_managed_identity_client_id_selects_managed_identity() -> None:
    from azure.identity.aio import ManagedIdentityCredential

    client = create_client(
        OpenAIClientConfig(
            kind="azure_openai",
            endpoint="https://example.openai.azure.com",
            managed_identity_client_id="00000000-0000-0000-0000-000000000001",
        )
    )
    try:
        assert isinstance(client._credential, ManagedIdentityCredential)
    finally:
        await client.aclose()


def test_azure_without_endpoint_fails_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        create_client(OpenAIClientConfig(kind="azure_openai", api_key="k"))


async def test_openai_compatible_client_needs_no_key_for_local_servers() -> None:
    client = create_client(OpenAIClientConfig(kind="openai", endpoint="http://127.0.0.1:1/v1"))
    try:
        assert str(client.sdk.base_url).startswith("http://127.0.0.1:1/v1")
        assert client.sdk.max_retries == 0
    finally:
        await client.aclose()


async def test_client_resource_closes_the_client_at_shutdown() -> None:
    resource = client_resource(OpenAIClientConfig(kind="openai", endpoint="http://127.0.0.1:1/v1"))
    client = await anext(resource)
    assert not client.sdk.is_closed()

    with pytest.raises(StopAsyncIteration):
        await anext(resource)

    assert client.sdk.is_closed()
