"""Which language model a test conversation talks to, and the agent files and tools it runs.

``model`` is one of:

* ``"offline"``: the offline dialog model over the agent files' intents (deterministic);
* ``"configured"``: the model ``PARLEY_LLM`` selects, built from the environment and the
  dotenv file exactly as ``parley serve`` builds it (Azure OpenAI, an OpenAI-compatible
  endpoint, the offline model, or the ``fake`` echo model);
* any :class:`~ports.LanguageModel` object (a scripted fake, a judge...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal

from adapters.tools import ToolRegistry
from bootstrap.agents import LoadedAgents, load_agents
from bootstrap.tools import load_tool_registry
from domain.agents import AgentGraph
from ports import LanguageModel, ModelOptions

__all__ = [
    "ModelChoice",
    "configured_model",
    "load_tools",
    "load_test_agents",
    "opened_model",
    "with_model_options",
]

ModelChoice = Literal["offline", "configured"] | LanguageModel
"""``"offline"``, ``"configured"`` or a language model object (see the module docstring)."""

_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(ModelOptions)) - {"agent"}


def load_tools(agents_dir: Path, tools: Path | ToolRegistry | None) -> ToolRegistry:
    """The conversation's tools: a fresh registry per call (fresh fake data per test).

    Args:
        agents_dir: The agents folder; ``<agents_dir>/tools.py`` is used when ``tools`` is
            None and it exists.
        tools: A tools module path, a registry (used as given), or None.

    Raises:
        ToolsModuleError: The module is missing (when named), fails or defines no tools.
    """
    if isinstance(tools, ToolRegistry):
        return tools
    if tools is None:
        return load_tool_registry(agents_dir / "tools.py", required=False)
    return load_tool_registry(Path(tools), required=True)


def load_test_agents(agents_dir: Path, registry: ToolRegistry) -> LoadedAgents:
    """The agent files of ``agents_dir``, checked against ``registry``'s tools.

    Raises:
        AgentFileError: Naming each file and field at fault.
    """
    return load_agents(agents_dir, tool_names=registry.names(), tts_provider="fake")


def with_model_options(graph: AgentGraph, options: Mapping[str, Any]) -> AgentGraph:
    """``graph`` with ``options`` set on every agent's model options.

    Args:
        graph: The agent graph.
        options: ``temperature``, ``seed``, ``max_tokens``, ``model``,
            ``parallel_tool_calls`` (:class:`ports.ModelOptions` fields).

    Raises:
        ValueError: An unknown option (the message lists the known ones).
    """
    unknown = set(options) - _OPTION_FIELDS
    if unknown:
        raise ValueError(
            f"unknown model option(s) {sorted(unknown)} (options: {sorted(_OPTION_FIELDS)})"
        )
    if not options:
        return graph
    agents = tuple(
        dataclasses.replace(a, model=dataclasses.replace(a.model, **options)) for a in graph.agents
    )
    return dataclasses.replace(graph, agents=agents)


@contextlib.asynccontextmanager
async def configured_model(
    env_file: Path | None = Path(".env"), *, agents_dir: Path | None = None
) -> AsyncIterator[LanguageModel]:
    """The language model ``PARLEY_LLM`` selects, opened for the block and closed after.

    Args:
        env_file: Dotenv file to read (missing is fine); None reads the environment only.
        agents_dir: Overrides ``PARLEY_AGENTS_DIR`` (the offline model needs the intents).

    Yields:
        The model.

    Raises:
        SettingsError: A bad setting (naming the env key).
        SelectionError: The selected model needs a key that is not set.
    """
    from bootstrap.containers import build_container, resolve
    from bootstrap.settings import load_settings

    settings = load_settings(env_file)
    if agents_dir is not None:
        server = settings.server.model_copy(update={"agents_dir": Path(agents_dir)})
        settings = dataclasses.replace(settings, server=server)
    container = build_container(settings)
    try:
        yield await resolve(container.adapters.llm)
    finally:
        result = container.shutdown_resources()
        if inspect.isawaitable(result):
            await result


@contextlib.asynccontextmanager
async def opened_model(
    model: ModelChoice, agents: LoadedAgents, agents_dir: Path, env_file: Path | None
) -> AsyncIterator[LanguageModel]:
    """The conversation's model for ``model`` (see the module docstring), open for the block.

    Raises:
        ValueError: An unknown model name.
    """
    if model == "offline":
        from adapters.local.dialog import OfflineDialogModel

        yield OfflineDialogModel(agents.dialog_agents, default_agent=agents.graph.start)
    elif model == "configured":
        async with configured_model(env_file, agents_dir=agents_dir) as llm:
            yield llm
    elif isinstance(model, str):
        raise ValueError(f"unknown model {model!r}: 'offline', 'configured' or a model object")
    else:
        yield model
