"""The ``twilio`` package's async HTTP client, on one aiohttp session with explicit deadlines.

``twilio.http.async_http_client.AsyncTwilioHttpClient`` builds an ``aiohttp.BasicAuth`` per
request (deprecated in aiohttp 3.13, to be removed in 4.0) and logs every request and its
headers at INFO. This client sends the same request with the ``Authorization: Basic`` header
built here (RFC 7617), an ``aiohttp.ClientTimeout`` per request, and no per-request logging;
the ``twilio`` client uses it through its ``http_client`` option.
"""

from __future__ import annotations

import base64
import logging

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

logger = logging.getLogger(__name__)


class TwilioAsyncHttpClient(AsyncHttpClient):  # type: ignore[misc]  # twilio is untyped
    """An ``AsyncHttpClient`` for ``twilio.rest.Client(http_client=...)``.

    Create it inside a running event loop; close it with :meth:`close`.

    Args:
        timeout_s: Deadline of one request (connect to last byte), seconds.
    """

    def __init__(self, timeout_s: float = 10.0) -> None:
        super().__init__(logger, True, timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the twilio client's signature)
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request and read the whole response.

        Raises:
            aiohttp.ClientError: The request failed on the wire.
            TimeoutError: The deadline passed.
        """
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        sent = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        deadline = aiohttp.ClientTimeout(total=timeout or self.timeout)
        async with self._session.request(
            method.upper(),
            url,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=sent,
            timeout=deadline,
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
            return Response(response.status, text, response.headers)

    async def close(self) -> None:
        """Close the session; idempotent."""
        if self._session is not None:
            await self._session.close()
            self._session = None
