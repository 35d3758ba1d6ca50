"""``PARLEY_RUNTIME_*``: the call runtime's tuning (:class:`domain.runtime.RuntimeConfig`).

Every knob is optional: empty means the runtime's default (the ``RuntimeConfig`` field of the
same name, in ms unless said otherwise). Two deadlines are also governed by older settings;
the rule for each (the effective values are shown by ``parley check``):

* **Media idle watchdog** (``media_idle_timeout_ms``): ``PARLEY_RUNTIME_MEDIA_IDLE_TIMEOUT_MS``
  when set, else ``PARLEY_IDLE_TIMEOUT_S`` (the server's idle timeout, which also closes idle
  sockets). ``0`` turns the watchdog off.
* **Model first-token deadline** (``first_token_timeout_ms``):
  ``PARLEY_RUNTIME_FIRST_TOKEN_TIMEOUT_MS`` when set; else, with ``PARLEY_LLM=azure_openai`` or
  ``openai``, that adapter's ``*_FIRST_TOKEN_TIMEOUT_S`` plus :data:`FIRST_TOKEN_MARGIN_MS`,
  so the adapter's own deadline (retries included, with its precise error) fires first and the
  runtime's is the safety net; else the runtime default (8000).
* **VAD end of speech** (``speech_stop_ms``): ``PARLEY_RUNTIME_SPEECH_STOP_MS`` when set;
  else :data:`TURN_MODEL_SPEECH_STOP_MS` with an end-of-turn model (``PARLEY_TURN`` other
  than ``off``, and its adapter installed: a short pause starts the final's decode and the
  model judges it, and a pause judged incomplete waits up to the endpointing policy's
  ``max_endpointing_delay_ms``); else the runtime default (500).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from bootstrap.settings_base import SettingsGroup, group_config
from domain.runtime import RuntimeConfig

if TYPE_CHECKING:
    from bootstrap.settings import AzureOpenAISettings, OpenAISettings, Settings

FIRST_TOKEN_MARGIN_MS = 1000.0
"""Added to an OpenAI adapter's first-token timeout for the runtime's own deadline."""

TURN_MODEL_SPEECH_STOP_MS = 150.0
"""The VAD's end-of-speech silence when an end-of-turn model judges each pause, ms.

It sits on the critical path of every answer (end of speech -> decode -> reply), so it is
short: the end-of-turn model, not the silence, tells a finished turn from a pause (150 ms
took about 100 ms off the median reply against 250 with the same pooled WER on the shared
clips, ``benchmarks/bench_embedded_default.py``). Callers who hesitate mid-sentence split
into more speculative decodes, which the domain joins; set ``PARLEY_RUNTIME_SPEECH_STOP_MS``
to 200-250 to trade latency for fewer decodes.
"""

_MS = Field(default=None, ge=0)
SETTING_TURN = "PARLEY_TURN"


class RuntimeSettings(SettingsGroup):
    """Call runtime tuning; every field empty = the ``RuntimeConfig`` default."""

    prefix: ClassVar[str] = "PARLEY_RUNTIME_"
    model_config = group_config(prefix)

    vad_threshold: float | None = Field(default=None, ge=0, le=1)
    """Speech probability (0..1) at or above which a frame counts as speech."""
    speech_start_ms: float | None = _MS
    """Speech must last this long before the caller counts as speaking (VAD smoothing)."""
    speech_stop_ms: float | None = _MS
    """Silence must last this long before the caller counts as stopped (VAD smoothing)."""
    pacing_lead_ms: float | None = _MS
    """How far outbound audio may run ahead of real-time playback."""
    pacing_batch_ms: float | None = _MS
    """One pacing tick also sends frames due within this many ms (sent at most this early)."""
    progress_interval_ms: float | None = _MS
    """Audio between two playback-progress reports when the engine gives no word timings."""
    synth_ahead_ms: float | None = _MS
    """Synthesised, unsent audio above which synthesis waits for the sender."""
    first_token_timeout_ms: float | None = _MS
    """Response start -> the model's first event (see the rule in the module docstring)."""
    token_timeout_ms: float | None = _MS
    """Deadline between two model events after the first."""
    tts_chunk_timeout_ms: float | None = _MS
    """Deadline of each synthesised chunk."""
    port_timeout_ms: float | None = _MS
    """Deadline of single port calls (stop-audio, call control, stores, closing streams)."""
    send_timeout_ms: float | None = _MS
    """Deadline of one outbound audio frame."""
    tool_timeout_margin_ms: float | None = _MS
    """Added to a tool's own timeout for the runtime's safety net."""
    stream_start_timeout_ms: float | None = _MS
    """Deadline of the media stream's start."""
    media_idle_timeout_ms: float | None = _MS
    """No media for this long ends the call; 0 = off (see the rule in the module docstring)."""
    drain_timeout_ms: float | None = _MS
    """Longest wait for queued speech before a hang-up or transfer."""
    save_debounce_ms: float | None = _MS
    """Session saves within this window are merged into one write."""
    stt_max_restarts: int | None = Field(default=None, ge=0)
    """Times a failed speech-to-text session is reopened in one call."""
    watchdog_tick_ms: float | None = Field(default=None, gt=0)
    """Period of the per-call watchdog (the precision of the hot-path deadlines)."""
    shutdown_timeout_ms: float | None = _MS
    """Longest wait for a call's cancelled tasks at its end."""
    consult_timeout_ms: float | None = _MS
    """How long the person a warm transfer consults may take to answer."""
    language: str | None = None
    """BCP-47 recognition language (e.g. ``en-US``); empty = the adapter's default."""


@dataclass(frozen=True, slots=True)
class Knob:
    """One effective runtime value and where it came from (``parley check``).

    Attributes:
        field: The ``RuntimeConfig`` field.
        value: Its effective value.
        source: The env key that set it, or ``default``.
    """

    field: str
    value: object
    source: str


def _first_token(settings: Settings) -> tuple[float, str] | None:
    llm = settings.providers.llm
    group: AzureOpenAISettings | OpenAISettings
    if llm == "azure_openai":
        group = settings.azure_openai
    elif llm == "openai":
        group = settings.openai
    else:
        return None
    key = type(group).env_key("first_token_timeout_s")
    return group.first_token_timeout_s * 1000.0 + FIRST_TOKEN_MARGIN_MS, f"{key} + margin"


def _turn_model_on(settings: Settings) -> bool:
    """An end-of-turn model is selected and its adapter imports (it is optional)."""
    from bootstrap.selection import module_problem, selected_option

    return (
        settings.providers.turn != "off"
        and module_problem(selected_option(settings, "turn")) is None
    )


def runtime_knobs(settings: Settings) -> list[Knob]:
    """Every ``RuntimeConfig`` field with its effective value and source, in field order."""
    runtime = settings.runtime
    default = RuntimeConfig()
    knobs: list[Knob] = []
    for f in fields(RuntimeConfig):
        own = getattr(runtime, f.name, None) if f.name in RuntimeSettings.model_fields else None
        if own is not None:
            knobs.append(Knob(f.name, own, RuntimeSettings.env_key(f.name)))
            continue
        derived: tuple[object, str] | None = None
        if f.name == "media_idle_timeout_ms":
            derived = (
                settings.server.idle_timeout_s * 1000.0,
                type(settings.server).env_key("idle_timeout_s"),
            )
        elif f.name == "first_token_timeout_ms":
            derived = _first_token(settings)
        elif f.name == "speech_stop_ms" and _turn_model_on(settings):
            derived = (TURN_MODEL_SPEECH_STOP_MS, f"{SETTING_TURN}={settings.providers.turn}")
        if derived is not None:
            knobs.append(Knob(f.name, derived[0], derived[1]))
        else:
            knobs.append(Knob(f.name, getattr(default, f.name), "default"))
    return knobs


def runtime_warnings(settings: Settings) -> list[str]:
    """Settings that govern one deadline and disagree (shown by ``parley check``)."""
    warnings: list[str] = []
    adapter = _first_token(settings)
    own = settings.runtime.first_token_timeout_ms
    if adapter is not None and own is not None and own < adapter[0] - FIRST_TOKEN_MARGIN_MS:
        key = RuntimeSettings.env_key("first_token_timeout_ms")
        warnings.append(
            f"{key}={own:g} is shorter than {adapter[1].removesuffix(' + margin')}: the"
            " runtime gives up before the model adapter's own deadline and retries"
        )
    return warnings


def runtime_config(settings: Settings) -> RuntimeConfig:
    """The runtime's configuration from settings, by the rules of this module."""
    return RuntimeConfig(**{k.field: k.value for k in runtime_knobs(settings)})  # type: ignore[arg-type]
