"""Azure OpenAI and OpenAI-compatible language model adapter (streaming chat completions).

Backed by the ``openai`` SDK (install with ``pip install 'parley[openai]'``; Microsoft Entra ID
auth also needs ``azure-identity`` from ``parley[azure]``). :class:`OpenAILanguageModel`
implements ``ports.LanguageModel``; :func:`create_client` / :func:`client_resource` build the
one client a process shares.
"""

try:
    import openai  # noqa: F401  (fail here, with a hint, rather than deep in a call)
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "The OpenAI language model adapter needs the 'openai' package: pip install 'parley[openai]'"
    ) from exc

from adapters.openai.client import (
    ENTRA_SCOPE,
    OpenAIClient,
    OpenAIClientConfig,
    aclose,
    client_resource,
    create_client,
)
from adapters.openai.errors import ERROR_MAP, map_openai_error, retry_after_s
from adapters.openai.mapping import ToolCallAssembler, decode_arguments, messages_to_wire
from adapters.openai.model import ModelDefaults, ModelTimeouts, OpenAILanguageModel, RetryPolicy

__all__ = [
    "ENTRA_SCOPE",
    "ERROR_MAP",
    "ModelDefaults",
    "ModelTimeouts",
    "OpenAIClient",
    "OpenAIClientConfig",
    "OpenAILanguageModel",
    "RetryPolicy",
    "ToolCallAssembler",
    "aclose",
    "client_resource",
    "create_client",
    "decode_arguments",
    "map_openai_error",
    "messages_to_wire",
    "retry_after_s",
]
