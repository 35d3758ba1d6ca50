"""Wiring of the call event router (one per process) and the store/router metrics.

The router (:class:`adapters.routing.CallEventRouter`) runs over whichever stores
``PARLEY_STORE`` selected: Redis in production (shared by every instance), the memory registry
and bus in a single process. It is a container ``Resource``, started and stopped by the
Starlette lifespan, which builds the ACS routes over it once it has started.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from adapters.resilience.metrics import QueueStats, WriteBehindCollector
from adapters.routing import CallEventRouter
from adapters.routing.metrics import CallRouterCollector
from bootstrap.factories import Stores
from bootstrap.settings import Settings
from ports import CallControl

logger = logging.getLogger(__name__)

MEMORY_HEARTBEAT_MS = 10_000.0
"""Heartbeat over the memory registry (its claims live 30 s)."""


def heartbeat_ms(settings: Settings) -> float:
    """Claim refresh period: a third of ``REDIS_REGISTRY_TTL_MS`` with Redis."""
    if settings.providers.store == "redis":
        return settings.redis.registry_ttl_ms / 3.0
    return MEMORY_HEARTBEAT_MS


async def call_router_resource(
    settings: Settings, stores: Stores, call_control: CallControl | None, instance_id: str
) -> AsyncIterator[CallEventRouter]:
    """Container ``Resource``: the process's router, started; closed at shutdown.

    A bus that is down at start does not fail the start: the router keeps trying to
    subscribe and ``/ready`` reports ``call_router`` (and ``store``) until it is back.
    """
    router = CallEventRouter(
        instance_id=instance_id,
        registry=stores.call_registry,
        bus=stores.event_bus,
        call_control=call_control,
        heartbeat_ms=heartbeat_ms(settings),
    )
    await router.start()
    logger.info("call router %s started (store %s)", router.channel, settings.providers.store)
    try:
        yield router
    finally:
        await router.aclose()


async def store_metrics_resource(
    stores: Stores,
    router: CallEventRouter,
    registry: CollectorRegistry,
    call_history: object | None = None,
) -> AsyncIterator[None]:
    """Container ``Resource``: export write-behind depth/overflow and router figures.

    Collectors are read at scrape time and unregistered at shutdown. ``call_history`` (the
    call records' write-behind) is the queue ``call_records``.
    """
    queues: dict[str, QueueStats] = {}
    candidates = (
        ("sessions", stores.sessions),
        ("transcripts", stores.transcripts),
        ("call_records", call_history),
    )
    for name, store in candidates:
        # Only the write-behind wrappers (Redis) have queues; memory stores write at once.
        if isinstance(getattr(store, "depth", None), int):
            queues[name] = store  # type: ignore[assignment]
    collectors: list[Collector] = [CallRouterCollector(router)]
    if queues:
        collectors.append(WriteBehindCollector(queues))
    for collector in collectors:
        registry.register(collector)
    try:
        yield None
    finally:
        for collector in collectors:
            registry.unregister(collector)
