"""The composition root: dependency-injector containers, split by concern and composed.

* :class:`CoreContainer`: settings, logging, the clock, the tools module and the agent files;
* :class:`AdaptersContainer`: one provider per port, each a ``providers.Resource`` that opens
  the adapter the selection table (:mod:`bootstrap.selection`) picks from the settings, plus
  the tool executor and the Prometheus metrics with their per-app registry;
* :class:`RuntimeContainer`: the conversation, the runtime's ports and config, and the
  :class:`~domain.runtime.CallRuntime` behind the driving port;
* :class:`~bootstrap.call_records.RecordsContainer`: durable call records (the recorder, its
  transcript tee, recording, summaries, retention);
* :class:`ApplicationContainer`: the four composed.

Nothing here runs at import. ``build_container(settings)`` makes a container; the Starlette
lifespan (or the CLI) awaits ``init_resources()`` to open the adapters and
``shutdown_resources()`` to close them. Tests override any provider before that, e.g.
``container.adapters.stt.override(providers.Object(FakeSpeechToText([...])))``.
"""

from __future__ import annotations

import inspect
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers
from prometheus_client import CollectorRegistry

from adapters.audio.beep import ToneBeepDetectors
from adapters.http.metrics import PrometheusCallMetrics
from adapters.system.clock import SystemClock
from adapters.tools import RegistryToolExecutor, ToolRegistry
from bootstrap.agents import LoadedAgents, load_agents
from bootstrap.call_records import RecordsContainer
from bootstrap.call_router import call_router_resource, store_metrics_resource
from bootstrap.factories import BuildContext, Stores, open_adapter
from bootstrap.logging import call_context, configure_logging
from bootstrap.outbound_metrics import outbound_calls_counter
from bootstrap.realtime import build_call_runtime, realtime_resource
from bootstrap.runtime_settings import runtime_config
from bootstrap.settings import Settings
from bootstrap.tools import load_tool_registry
from bootstrap.tracing import tracer_provider as make_tracer_provider
from bootstrap.tracing import tracing_resource
from domain.runtime import RuntimeDeps
from domain.session import Conversation
from ports import CallHandler, CallSummary, InboundCall


def tools_from_settings(settings: Settings) -> ToolRegistry:
    """The tool registry of ``PARLEY_TOOLS_MODULE`` (or ``<agents_dir>/tools.py``)."""
    server = settings.server
    return load_tool_registry(
        server.resolved_tools_module(), required=server.tools_module is not None
    )


def agents_from_settings(settings: Settings, tools: ToolRegistry) -> LoadedAgents:
    """The agent files of ``PARLEY_AGENTS_DIR``, validated against the registered tools."""
    return load_agents(
        Path(settings.server.agents_dir),
        tool_names=tools.names(),
        tts_provider=settings.providers.tts,
        dialog_threshold=settings.local.dialog_threshold,
        pipeline=settings.providers.pipeline,
    )


def instance_id(settings: Settings) -> str:
    """``PARLEY_INSTANCE_ID`` or ``<hostname>-<pid>-<random>`` (unique per container)."""
    return settings.server.instance_id or (
        f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )


def logging_resource(settings: Settings) -> Iterator[None]:
    """Configure logging once per container (Resource initializer)."""
    configure_logging(
        level=settings.server.log_level,
        fmt=settings.server.log_format,
        secrets=settings.secret_values(),
    )
    yield


class CallContextHandler:
    """The driving port, wrapped so every log record of a call carries its ``call_id``.

    Tasks the runtime starts inside the call inherit the context variable.

    Args:
        inner: The handler doing the work.
    """

    def __init__(self, inner: CallHandler) -> None:
        self._inner = inner

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Run ``call`` with its id in the logging context."""
        with call_context(call.info.call_id):
            return await self._inner.handle_call(call)


class CoreContainer(containers.DeclarativeContainer):
    """Settings, logging, clock, tools and agents."""

    settings = providers.Dependency(instance_of=Settings)
    logging = providers.Resource(logging_resource, settings=settings)
    clock = providers.Singleton(SystemClock)
    tool_registry = providers.Singleton(tools_from_settings, settings=settings)
    agents = providers.Singleton(agents_from_settings, settings=settings, tools=tool_registry)
    instance_id = providers.Singleton(instance_id, settings=settings)
    build_context = providers.Singleton(BuildContext, settings=settings, clock=clock, agents=agents)


class AdaptersContainer(containers.DeclarativeContainer):
    """One provider per port, chosen by the settings through the selection table."""

    core = providers.DependenciesContainer()

    stt = providers.Resource(open_adapter, "stt", core.build_context)
    tts = providers.Resource(open_adapter, "tts", core.build_context)
    llm = providers.Resource(open_adapter, "llm", core.build_context)
    vad_factory = providers.Resource(open_adapter, "vad", core.build_context)
    end_of_turn = providers.Resource(open_adapter, "turn", core.build_context)
    stores = providers.Resource(open_adapter, "store", core.build_context)
    call_control = providers.Resource(open_adapter, "telephony", core.build_context)
    call_history = providers.Resource(open_adapter, "call_records", core.build_context)
    # None unless PARLEY_PIPELINE=realtime (docs/adr/0011).
    realtime = providers.Resource(realtime_resource, core.build_context)

    sessions = providers.Callable(lambda s: s.sessions, stores)
    transcripts = providers.Callable(lambda s: s.transcripts, stores)
    call_registry = providers.Callable(lambda s: s.call_registry, stores)
    event_bus = providers.Callable(lambda s: s.event_bus, stores)

    tools = providers.Singleton(RegistryToolExecutor, core.tool_registry)
    metrics_registry = providers.Singleton(CollectorRegistry)
    metrics = providers.Singleton(PrometheusCallMetrics, registry=metrics_registry)
    outbound_counter = providers.Singleton(outbound_calls_counter, registry=metrics_registry)
    tracer_provider = providers.Singleton(make_tracer_provider, core.settings)
    tracing = providers.Resource(tracing_resource, core.settings, provider=tracer_provider)

    # One call event router per process, over the selected registry and bus (issue 9).
    call_router = providers.Resource(
        call_router_resource, core.settings, stores, call_control, core.instance_id
    )
    store_metrics = providers.Resource(
        store_metrics_resource, stores, call_router, metrics_registry, call_history
    )


class RuntimeContainer(containers.DeclarativeContainer):
    """The conversation and the call runtime factory."""

    core = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()
    records = providers.DependenciesContainer()

    conversation = providers.Singleton(
        lambda agents: Conversation(agents.graph, agents.policy), core.agents
    )
    config = providers.Singleton(runtime_config, core.settings)
    deps = providers.Singleton(
        RuntimeDeps,
        stt=adapters.stt,
        tts=adapters.tts,
        llm=adapters.llm,
        vad_factory=adapters.vad_factory,
        tools=adapters.tools,
        sessions=adapters.sessions,
        # The transcript log, teed into the call records (bootstrap.call_records).
        transcripts=records.transcripts,
        clock=core.clock,
        metrics=adapters.metrics,
        call_control=adapters.call_control,
        tracing=adapters.tracing,
        end_of_turn=adapters.end_of_turn,
        beep_detectors=providers.Singleton(ToneBeepDetectors),
    )
    # PARLEY_PIPELINE picks the cascade's CallRuntime or the RealtimeCallRuntime.
    call_runtime = providers.Factory(
        build_call_runtime,
        core.settings,
        conversation,
        deps,
        config,
        adapters.realtime,
        core.agents,
    )
    handler = providers.Singleton(CallContextHandler, call_runtime)


class ApplicationContainer(containers.DeclarativeContainer):
    """Everything, composed."""

    core = providers.Container(CoreContainer)
    adapters = providers.Container(AdaptersContainer, core=core)
    records = providers.Container(RecordsContainer, core=core, adapters=adapters)
    runtime = providers.Container(RuntimeContainer, core=core, adapters=adapters, records=records)


def build_container(settings: Settings) -> ApplicationContainer:
    """A container for ``settings``; nothing is built until a provider is called."""
    container = ApplicationContainer()
    container.core.settings.override(providers.Object(settings))
    return container


async def resolve(provider: Any) -> Any:
    """Call ``provider`` and await the result when the provider is in async mode."""
    value = provider()
    if inspect.isawaitable(value):
        value = await value
    return value


__all__ = [
    "AdaptersContainer",
    "ApplicationContainer",
    "CallContextHandler",
    "CoreContainer",
    "RuntimeContainer",
    "Stores",
    "build_container",
    "resolve",
]
