"""``EventBus`` on Redis pub/sub: at-most-once delivery to current subscribers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from redis.asyncio.client import PubSub

from adapters.redis.connection import RedisConnection
from adapters.redis.errors import redis_call
from adapters.redis.keys import KeySchema
from ports import JsonObject

logger = logging.getLogger(__name__)


class RedisSubscription:
    """One channel's messages (implements :class:`ports.Subscription`).

    Args:
        pubsub: A subscribed redis-py PubSub (owns one connection).
        poll_s: How long each read waits, seconds; bounds how fast ``aclose`` is noticed.
    """

    def __init__(self, pubsub: PubSub, *, poll_s: float = 0.5) -> None:
        self._pubsub = pubsub
        self._poll_s = poll_s
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[JsonObject]:
        """Messages in publish order until closed; malformed messages are logged and skipped."""
        while not self._closed:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self._poll_s
                )
            except Exception:
                if self._closed:
                    return
                logger.warning("redis subscription read failed; retrying", exc_info=True)
                await asyncio.sleep(self._poll_s)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                body = json.loads(message["data"])
            except (ValueError, TypeError):
                logger.warning("dropped a malformed bus message")
                continue
            if isinstance(body, dict):
                yield body

    async def aclose(self) -> None:
        """Unsubscribe and release the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
        except Exception:  # closing a broken connection must not fail the caller
            logger.debug("pubsub close failed", exc_info=True)


class RedisEventBus:
    """Implements :class:`ports.EventBus` with ``PUBLISH`` / ``SUBSCRIBE``.

    Args:
        connection: The process's Redis pool.
        keys: Key schema (channel names are prefixed).
    """

    def __init__(self, connection: RedisConnection, *, keys: KeySchema | None = None) -> None:
        self._conn = connection
        self._keys = keys or KeySchema()

    async def publish(self, channel: str, message: JsonObject) -> int:
        """Publish JSON; returns how many subscribers got it.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        async with redis_call(self._conn.timeout_s):
            return int(
                await self._conn.client.publish(
                    self._keys.channel(channel), json.dumps(message, separators=(",", ":"))
                )
            )

    async def subscribe(self, channel: str) -> RedisSubscription:
        """Subscribe; messages published after this returns are delivered.

        Raises:
            StoreUnavailableError: Redis failed or timed out.
        """
        pubsub = self._conn.client.pubsub()
        try:
            async with redis_call(self._conn.timeout_s):
                await pubsub.subscribe(self._keys.channel(channel))
                # Wait for the subscribe confirmation so "returned" means "listening".
                while True:
                    msg = await pubsub.get_message(timeout=self._conn.timeout_s)
                    if msg is not None and msg.get("type") == "subscribe":
                        break
        except BaseException:
            # Callers retry while Redis is down: do not leak a connection per attempt.
            await RedisSubscription(pubsub).aclose()
            raise
        return RedisSubscription(pubsub)
