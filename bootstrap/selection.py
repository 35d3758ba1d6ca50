"""The provider selection table: which adapter serves each port, chosen by a setting.

One row per ``(port, value)``. The adapters container opens the row selected by the
settings (``PARLEY_STT`` ...) through its ``factory``, and ``parley check`` validates the
same rows: the value exists, its adapter module imports, the env keys it needs are set.

Adding an adapter option is one row here and one factory function:

1. write ``def my_stt(ctx: BuildContext) -> SpeechToText`` (or an ``@asynccontextmanager``
   for clients that must be started and closed, with ``resource=True`` on the row) in
   :mod:`bootstrap.factories` or in a module of your own under ``bootstrap/``;
2. set the row's ``factory`` to ``"module:function"`` and ``module`` to the adapter package
   that must import, and list the env keys it needs in ``requires`` (``"A|B"``: either);
3. add the value to the setting's ``Literal`` in :mod:`bootstrap.settings` if it is new.

Rows with ``factory=None`` are known but not available yet; ``parley check`` rejects them with
their ``hint``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from bootstrap.settings import GROUPS, Settings

Port = Literal[
    "stt", "tts", "llm", "vad", "turn", "store", "telephony", "call_records", "realtime"
]

SETTING_OF: dict[Port, str] = {
    "stt": "PARLEY_STT",
    "tts": "PARLEY_TTS",
    "llm": "PARLEY_LLM",
    "vad": "PARLEY_VAD",
    "turn": "PARLEY_TURN",
    "store": "PARLEY_STORE",
    "telephony": "PARLEY_TELEPHONY",
    "call_records": "PARLEY_CALL_RECORDS",
    "realtime": "PARLEY_REALTIME",
}

PORT_TITLES: dict[Port, str] = {
    "stt": "speech-to-text",
    "tts": "text-to-speech",
    "llm": "language model",
    "vad": "voice activity detection",
    "turn": "end-of-turn model",
    "store": "session, transcript, registry and event-bus stores",
    "telephony": "telephony (call control)",
    "call_records": "call records (durable call history)",
    "realtime": "realtime speech-to-speech (PARLEY_PIPELINE=realtime)",
}


@dataclass(frozen=True, slots=True)
class AdapterOption:
    """One row of the selection table.

    Attributes:
        port: Which port (setting) it serves.
        value: The setting's value that selects it.
        label: What it is, for ``parley check``.
        factory: ``"module:function"`` building it from a
            :class:`~bootstrap.factories.BuildContext`; ``None`` when not available yet.
        module: Adapter package that must import for the option to work.
        requires: Env keys that must be non-empty; ``"A|B"`` means either.
        resource: The factory is an async context manager (started and closed with the app).
        optional: Missing keys or a missing adapter disable the port (``None``) with a
            warning instead of failing start (telephony: browser calls need none).
        hint: Shown when the option is not available.
    """

    port: Port
    value: str
    label: str
    factory: str | None
    module: str = ""
    requires: tuple[str, ...] = ()
    resource: bool = False
    optional: bool = False
    hint: str = ""


SELECTION_TABLE: tuple[AdapterOption, ...] = (
    # speech-to-text
    AdapterOption(
        "stt", "whisper", "Whisper tiny.en via faster-whisper (offline)",
        "bootstrap.local_engines:whisper_stt", module="adapters.local.whisper_stt",
        resource=True,
    ),
    AdapterOption(
        "stt", "local", "pocketsphinx (offline)", "bootstrap.factories:local_stt",
        module="adapters.local.stt", resource=True,
    ),
    AdapterOption(
        "stt", "azure", "Azure AI Speech", "bootstrap.azure_speech:azure_stt",
        module="adapters.azure_speech",
        requires=("AZURE_SPEECH_REGION|AZURE_SPEECH_ENDPOINT|AZURE_SPEECH_HOST",),
    ),
    AdapterOption(
        "stt", "fake", "FakeSpeechToText (tests; recognises nothing)",
        "bootstrap.factories:fake_stt", module="adapters.memory",
    ),
    # text-to-speech
    AdapterOption(
        "tts", "piper", "Piper en_US-joe-medium (offline)", "bootstrap.local_engines:piper_tts",
        module="adapters.local.piper_tts", resource=True,
    ),
    AdapterOption(
        "tts", "local", "espeak-ng (offline)", "bootstrap.factories:local_tts",
        module="adapters.local.tts", resource=True,
    ),
    AdapterOption(
        "tts", "azure", "Azure AI Speech", "bootstrap.azure_speech:azure_tts",
        module="adapters.azure_speech",
        requires=("AZURE_SPEECH_REGION|AZURE_SPEECH_ENDPOINT|AZURE_SPEECH_HOST",),
        resource=True,
    ),
    AdapterOption(
        "tts", "fake", "FakeTextToSpeech (tests; tones)", "bootstrap.factories:fake_tts",
        module="adapters.memory",
    ),
    # language model
    AdapterOption(
        "llm", "offline", "offline dialog model (demos, tests, air-gapped smoke runs)",
        "bootstrap.factories:offline_llm", module="adapters.local.dialog",
    ),
    AdapterOption(
        "llm", "azure_openai", "Azure OpenAI", "bootstrap.openai_llm:azure_openai_llm",
        module="adapters.openai",
        requires=("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT"),
        resource=True,
    ),
    AdapterOption(
        "llm", "openai", "OpenAI-compatible endpoint", "bootstrap.openai_llm:openai_llm",
        module="adapters.openai",
        requires=("OPENAI_API_KEY|OPENAI_BASE_URL",),
        resource=True,
    ),
    AdapterOption(
        "llm", "fake", "ScriptedLanguageModel (tests; echoes the caller)",
        "bootstrap.factories:fake_llm", module="adapters.memory",
    ),
    # voice activity detection
    AdapterOption(
        "vad", "silero", "Silero VAD v6 (offline)", "bootstrap.local_engines:silero_vad",
        module="adapters.local.silero_vad",
    ),
    AdapterOption(
        "vad", "webrtc", "webrtcvad", "bootstrap.factories:webrtc_vad",
        module="adapters.local.vad",
    ),
    AdapterOption(
        "vad", "fake", "FakeVad (tests; loudness)", "bootstrap.factories:fake_vad",
        module="adapters.memory",
    ),
    # end-of-turn model
    AdapterOption(
        "turn", "smart_turn", "Smart Turn v3 (offline)", "bootstrap.local_engines:smart_turn",
        module="adapters.local.smart_turn", resource=True, optional=True,
        hint="without the local extra the end-of-turn model is off",
    ),
    AdapterOption(
        "turn", "off", "none (each final transcript ends the turn)",
        "bootstrap.local_engines:no_turn_detector",
    ),
    # stores
    AdapterOption(
        "store", "memory", "in-process memory (one process only)",
        "bootstrap.factories:memory_stores", module="adapters.memory", resource=True,
    ),
    AdapterOption(
        "store", "redis", "Redis (shared by every instance; write-behind when down)",
        "bootstrap.redis_store:redis_stores",
        module="adapters.redis", requires=("REDIS_URL",), resource=True,
    ),
    # telephony
    AdapterOption(
        "telephony", "acs", "Azure Communication Services Call Automation",
        "bootstrap.acs:acs_call_control",
        module="adapters.acs", requires=("ACS_CONNECTION_STRING|ACS_ENDPOINT",),
        resource=True, optional=True,
        hint="ACS endpoints answer 503 until ACS_CONNECTION_STRING or ACS_ENDPOINT is set",
    ),
    # call records (bootstrap/call_records.py; docs/call-records.md)
    AdapterOption(
        "call_records", "sqlite", "SQLite file in PARLEY_RECORDS_DIR (write-behind)",
        "bootstrap.call_records:sqlite_history", module="adapters.sqlite", resource=True,
    ),
    AdapterOption(
        "call_records", "postgres", "PostgreSQL, psycopg 3 pool (write-behind when down)",
        "bootstrap.call_records:postgres_history", module="adapters.postgres",
        requires=("POSTGRES_URL",), resource=True,
    ),
    AdapterOption(
        "call_records", "memory", "in-process memory (tests; lost when the process stops)",
        "bootstrap.call_records:memory_history", module="adapters.memory", resource=True,
    ),
    AdapterOption(
        "telephony", "twilio", "Twilio Programmable Voice (Media Streams)",
        "bootstrap.twilio:twilio_call_control",
        module="adapters.twilio",
        requires=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PUBLIC_BASE_URL"),
        resource=True, optional=True,
        hint="Twilio endpoints are off until TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_PUBLIC_BASE_URL are set",
    ),
    # realtime speech-to-speech: opened only with PARLEY_PIPELINE=realtime (bootstrap.realtime)
    AdapterOption(
        "realtime", "voicelive", "Azure Voice Live", "bootstrap.realtime:voicelive_realtime",
        module="adapters.realtime.voicelive", requires=("AZURE_VOICELIVE_ENDPOINT",),
        resource=True,
    ),
    AdapterOption(
        "realtime", "azure_openai", "Azure OpenAI Realtime (GA)",
        "bootstrap.realtime:azure_openai_realtime", module="adapters.realtime.openai",
        requires=("AZURE_OPENAI_ENDPOINT",), resource=True,
    ),
    AdapterOption(
        "realtime", "openai", "OpenAI Realtime (GA)", "bootstrap.realtime:openai_realtime",
        module="adapters.realtime.openai", requires=("OPENAI_API_KEY|OPENAI_BASE_URL",),
        resource=True,
    ),
    AdapterOption(
        "realtime", "fake", "FakeRealtimeModel (tests; echoes the caller)",
        "bootstrap.realtime:fake_realtime", module="adapters.memory.realtime",
    ),
)  # fmt: skip


class SelectionError(ValueError):
    """The selected adapters cannot be built.

    Attributes:
        problems: One line per problem, naming the env key.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def options_for(port: Port) -> list[AdapterOption]:
    """Every row of ``port``, in table order."""
    return [o for o in SELECTION_TABLE if o.port == port]


def selected_value(settings: Settings, port: Port) -> str:
    """The setting's value for ``port``."""
    return str(getattr(settings.providers, port))


def selected_option(settings: Settings, port: Port) -> AdapterOption:
    """The row the settings select for ``port``.

    Raises:
        SelectionError: No row has that value (the setting allows a value the table lacks).
    """
    value = selected_value(settings, port)
    for option in options_for(port):
        if option.value == value:
            return option
    raise SelectionError([f"{SETTING_OF[port]}={value}: no adapter registered for this value"])


def _env_value(settings: Settings, key: str) -> Any:
    for group_cls, group in zip(GROUPS, settings.groups(), strict=True):
        prefix = group_cls.prefix
        if key.startswith(prefix):
            field = key[len(prefix) :].lower()
            if field in group_cls.model_fields:
                value = getattr(group, field)
                if isinstance(value, SecretStr):
                    return value.get_secret_value()
                return value
    return None


def missing_keys(settings: Settings, option: AdapterOption) -> list[str]:
    """Entries of ``option.requires`` with no value (``"A or B"`` for alternatives)."""
    missing = []
    for requirement in option.requires:
        alternatives = requirement.split("|")
        if not any(_env_value(settings, key) for key in alternatives):
            missing.append(" or ".join(alternatives))
    return missing


def module_problem(option: AdapterOption) -> str | None:
    """Why the option's adapter cannot be used (not wired, fails to import), or None."""
    if option.factory is None:
        return option.hint or "not available yet"
    for name in filter(None, (option.module, option.factory.split(":")[0])):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"{name} cannot be imported: {exc}"
    return None


@dataclass(frozen=True, slots=True)
class SelectionReport:
    """What ``parley check`` prints for one port.

    Attributes:
        port: The port.
        option: The selected row.
        problems: Errors (the app will not start).
        warnings: Conditions that disable an optional port.
    """

    port: Port
    option: AdapterOption
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def check_selection(settings: Settings) -> list[SelectionReport]:
    """Validate every port's selected row: availability, imports, required keys.

    Returns:
        One report per port, in :data:`SETTING_OF` order.
    """
    reports = []
    for port, setting in SETTING_OF.items():
        realtime = settings.providers.pipeline == "realtime"
        if (port == "realtime") is not realtime and port in ("realtime", "stt", "tts", "turn"):
            continue  # realtime: only in realtime mode; stt, tts, turn: only in the cascade
        option = selected_option(settings, port)
        issues = []
        problem = module_problem(option)
        if problem:
            issues.append(f"{setting}={option.value}: {problem}")
        issues.extend(
            f"{setting}={option.value} needs {key} (not set)"
            for key in missing_keys(settings, option)
        )
        if option.optional:
            reports.append(SelectionReport(port, option, warnings=tuple(issues)))
        else:
            reports.append(SelectionReport(port, option, problems=tuple(issues)))
    return reports


def resolve_factory(option: AdapterOption) -> Callable[..., Any]:
    """Import the option's factory function.

    Raises:
        SelectionError: The option is not available or its factory does not import.
    """
    if option.factory is None:
        raise SelectionError(
            [f"{SETTING_OF[option.port]}={option.value}: {option.hint or 'not available yet'}"]
        )
    module_name, _, attr = option.factory.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory: Callable[..., Any] = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise SelectionError(
            [f"{SETTING_OF[option.port]}={option.value}: factory {option.factory}: {exc}"]
        ) from exc
    return factory
