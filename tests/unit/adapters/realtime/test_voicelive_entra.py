"""Voice Live with a Microsoft Entra token credential, against the realtime stand-in."""

from __future__ import annotations

import time

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from adapters.realtime.voicelive import VoiceLiveRealtimeModel
from bootstrap.contract.suites.realtime_model import CONFIG
from ports import PCM16_24K
from tests.contract.impl_realtime import realtime_standin_server  # noqa: F401 - fixture
from tests.emulators.realtime_standin import BEARER, RealtimeStandin


class StaticToken(AsyncTokenCredential):
    """An async token credential (as DefaultAzureCredential is) with a fixed token."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(BEARER, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_voice_live_authenticates_with_a_microsoft_entra_token(
    realtime_standin_server: RealtimeStandin,  # noqa: F811 - the fixture imported above
) -> None:
    credential = StaticToken()
    model = VoiceLiveRealtimeModel(realtime_standin_server.base_url, credential, "gpt-realtime")
    async with model.session(CONFIG, PCM16_24K):
        pass
    assert credential.scopes == ["https://ai.azure.com/.default"]
    headers = realtime_standin_server.sessions[-1].headers
    assert headers.get("Authorization") == f"Bearer {BEARER}"
