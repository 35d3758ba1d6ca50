"""The agent-file schema and loader: what ``PARLEY_AGENTS_DIR`` holds, as pydantic models.

* :class:`AgentFile`: one ``<agent>.yaml``; :class:`ConversationFile`: ``conversation.yaml``
  (with :class:`PolicyFile`); :class:`HandoffFile` and :class:`VoiceFile` their parts. Their
  ``model_json_schema()`` is the JSON Schema of the files (for an editor's YAML support).
* :func:`load_agents` validates a whole folder and raises :class:`AgentFileError`, naming
  every file, field and problem at once; :func:`bundled_agents_dir` is the example folder
  shipped with Parley (``parley init DIR`` copies it).

The format itself is documented in :mod:`bootstrap.agents`.
"""

from bootstrap.agents import (
    AgentFile,
    AgentFileError,
    ConversationFile,
    HandoffFile,
    LoadedAgents,
    PolicyFile,
    VoiceFile,
    load_agents,
)
from bootstrap.bundled import bundled_agents_dir

__all__ = [
    "AgentFile",
    "AgentFileError",
    "ConversationFile",
    "HandoffFile",
    "LoadedAgents",
    "PolicyFile",
    "VoiceFile",
    "bundled_agents_dir",
    "load_agents",
]
