"""Wiring of durable call records (issue 19): the stores, the recorder and its jobs, routes.

* Selection-table factories (``PARLEY_CALL_RECORDS``): :func:`sqlite_history`,
  :func:`postgres_history`, :func:`memory_history`. Each yields the store behind a
  :class:`~adapters.resilience.WriteBehindCallHistory`, so no call waits for the database.
* :class:`RecordsContainer`: data protection, the records configuration (settings plus the
  ``records:`` section of ``conversation.yaml``), Parley's WAV recorder, ACS Call Recording
  (when ACS is configured and recording may use it), the summarizer, and :class:`CallRecords`
  (the recorder, the summary jobs and the retention keeper, started and stopped together).
* :func:`records_routes`: the operator API over records and the ACS recording endpoints.

Nothing here connects or starts a task at import time.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from dependency_injector import containers, providers
from starlette.routing import BaseRoute

from adapters.audio.call_recording import WavCallRecorder
from adapters.http.call_history_api import call_history_routes
from adapters.resilience import WriteBehindCallHistory
from bootstrap.factories import BuildContext
from bootstrap.selection import SelectionError
from bootstrap.settings import Settings
from domain.records import (
    CallerMode,
    CallRecorder,
    ModelSummarizer,
    PrivacyPolicy,
    RecordingMode,
    RecordingTranscriptLog,
    RecordingWhen,
    RecordsConfig,
    RecordsKeeper,
    SummaryJobs,
    TranscriptMode,
)
from domain.records.config import DEFAULT_DISPOSITIONS
from ports import Clock, LanguageModel
from ports.call_history import CallHistory, RecordingKind, RecordingRef
from ports.call_recording import CallRecording
from ports.call_summarizer import CallSummarizer

logger = logging.getLogger(__name__)

SQLITE_FILE = "calls.sqlite3"
RECORDINGS_FOLDER = "recordings"


def wall_ms() -> float:
    """Unix epoch milliseconds now."""
    return time.time() * 1000.0


# --------------------------------------------------------------------------- stores


@contextlib.asynccontextmanager
async def _behind(store: CallHistory, ctx: BuildContext) -> AsyncIterator[WriteBehindCallHistory]:
    history = WriteBehindCallHistory(store, max_pending=ctx.settings.records.write_behind_max)
    history.start()
    try:
        yield history
    finally:
        await history.aclose(flush_timeout_s=5.0)


@contextlib.asynccontextmanager
async def sqlite_history(ctx: BuildContext) -> AsyncIterator[CallHistory]:
    """``PARLEY_CALL_RECORDS=sqlite``: ``PARLEY_RECORDS_DIR/calls.sqlite3``, write-behind.

    Raises:
        SelectionError: The file cannot be opened (names ``PARLEY_RECORDS_DIR``).
    """
    from adapters.sqlite import SqliteCallHistory
    from ports import StoreError

    cfg = ctx.settings.records
    store = SqliteCallHistory(cfg.dir / SQLITE_FILE, timeout_ms=cfg.timeout_ms)
    try:
        await store.open()
    except StoreError as exc:
        raise SelectionError([f"PARLEY_RECORDS_DIR={cfg.dir}: {exc}"]) from exc
    try:
        async with _behind(store, ctx) as history:
            yield history
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def postgres_history(ctx: BuildContext) -> AsyncIterator[CallHistory]:
    """``PARLEY_CALL_RECORDS=postgres``: the pool on ``POSTGRES_URL``, write-behind.

    A database that is down at start leaves the process up (``/ready`` names
    ``call_records``); writes wait in the write-behind queue until it returns.
    """
    from adapters.postgres import PostgresCallHistory

    pg = ctx.settings.postgres
    url = pg.url.get_secret_value() if pg.url is not None else ""
    store = PostgresCallHistory(
        url,
        min_size=pg.pool_min,
        max_size=max(pg.pool_max, pg.pool_min),
        timeout_ms=ctx.settings.records.timeout_ms,
        connect_timeout_ms=pg.connect_timeout_ms,
    )
    await store.open()
    try:
        async with _behind(store, ctx) as history:
            yield history
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def memory_history(ctx: BuildContext) -> AsyncIterator[CallHistory]:
    """``PARLEY_CALL_RECORDS=memory``: in-process, lost at exit (tests, throwaway runs)."""
    from adapters.memory.call_history import MemoryCallHistory

    async with _behind(MemoryCallHistory(), ctx) as history:
        yield history


# --------------------------------------------------------------------------- the recorder


def privacy_policy(settings: Settings) -> PrivacyPolicy:
    """``PARLEY_RECORDS_CALLER``, ``_TRANSCRIPT`` and ``_HASH_KEY``."""
    cfg = settings.records
    key = cfg.hash_key.get_secret_value().encode() if cfg.hash_key is not None else b""
    return PrivacyPolicy(CallerMode(cfg.caller), TranscriptMode(cfg.transcript), key)


def records_config(settings: Settings, agents: Any, instance_id: str) -> RecordsConfig:
    """The records configuration from ``PARLEY_RECORDS_*`` and ``conversation.yaml``."""
    cfg = settings.records
    section = agents.records
    return RecordsConfig(
        instance_id=instance_id,
        start_agent=agents.graph.start,
        recording=RecordingWhen(cfg.recording),
        recording_mode=RecordingMode(cfg.recording_mode),
        recording_agents=frozenset(section.recording_agents),
        summary=cfg.summary,
        dispositions=tuple(section.dispositions) or DEFAULT_DISPOSITIONS,
        fields=tuple(f.to_field() for f in section.fields),
        summary_timeout_ms=cfg.summary_timeout_s * 1000.0,
        summary_attempts=cfg.summary_attempts,
    )


def wav_recorder(settings: Settings) -> WavCallRecorder:
    """Parley's own recordings, in ``PARLEY_RECORDS_DIR/recordings``."""
    return WavCallRecorder(settings.records.dir / RECORDINGS_FOLDER)


def summarizer_for(settings: Settings, llm: LanguageModel) -> CallSummarizer:
    """The template summary with the offline or fake model, else the configured model."""
    choice = settings.providers.llm
    if choice in ("offline", "fake"):
        from adapters.local.summary import TemplateSummarizer

        return TemplateSummarizer()
    source = settings.azure_openai.deployment if choice == "azure_openai" else settings.openai.model
    return ModelSummarizer(llm, source=source or choice)


def _acs_on(settings: Settings) -> bool:
    acs = settings.acs
    return settings.providers.telephony == "acs" and bool(acs.connection_string or acs.endpoint)


def recording_tokens(settings: Settings) -> Any:
    """The process's ``RecordingTokens`` (one instance: it signs and checks callback URLs)."""
    from adapters.acs.recording import RecordingTokens
    from bootstrap.acs import call_token_key

    return RecordingTokens(call_token_key(settings.acs))


@contextlib.asynccontextmanager
async def acs_recording(settings: Settings, tokens: Any) -> AsyncIterator[CallRecording | None]:
    """ACS Call Recording, when ACS is configured and recording may use it; else None."""
    cfg = settings.records
    if cfg.recording == "off" or cfg.recording_mode == "own" or not _acs_on(settings):
        yield None
        return
    from adapters.acs.recording import AcsCallRecording
    from bootstrap.acs import build_acs_client

    client = build_acs_client(settings.acs)
    # The SDK client of the ACS adapter (bootstrap owns both); a token credential and the
    # emulator's plain http need enforce_https off, an access key must not see the option.
    owned = client._credential is not None  # noqa: SLF001 (bootstrap's own value)
    base = settings.acs.callback_base_url or f"http://{settings.server.host}:{settings.server.port}"
    try:
        yield AcsCallRecording(
            client._client,  # noqa: SLF001 (bootstrap's own value)
            public_base_url=base,
            tokens=tokens,
            enforce_https=settings.acs.enforce_https if owned else True,
        )
    finally:
        await client.aclose()


@dataclass(frozen=True, slots=True)
class CallRecords:
    """The process's call-record machinery.

    Attributes:
        history: The call history (write-behind).
        recorder: Writes each call's record.
        jobs: Post-call summaries.
        keeper: Retention and erasure.
        privacy: What of numbers and words is stored (the API hashes query callers with it).
    """

    history: CallHistory
    recorder: CallRecorder
    jobs: SummaryJobs
    keeper: RecordsKeeper
    privacy: PrivacyPolicy


def _media_deleter(
    audio: WavCallRecorder, recording: CallRecording | None
) -> Callable[[RecordingRef], Any]:
    async def delete(ref: RecordingRef) -> None:
        if ref.kind == RecordingKind.WAV.value:
            await audio.delete(ref)
        elif ref.kind == RecordingKind.ACS.value and recording is not None:
            await recording.delete(ref)

    return delete


async def call_records_resource(
    settings: Settings,
    history: CallHistory,
    clock: Clock,
    privacy: PrivacyPolicy,
    config: RecordsConfig,
    recording: CallRecording | None,
    audio: WavCallRecorder,
    summarizer: CallSummarizer,
) -> AsyncIterator[CallRecords]:
    """Container ``Resource``: the recorder, summary jobs and retention job, started.

    On exit the recorder's queue is flushed, the jobs are cancelled and the retention job
    stops.
    """
    cfg = settings.records
    recorder = CallRecorder(
        history,
        clock=clock,
        wall_ms=wall_ms,
        privacy=privacy,
        config=config,
        recording=recording,
        audio=audio,
    )
    jobs = SummaryJobs(history, summarizer, config, clock=clock, wall_ms=wall_ms)
    recorder.submit_summary = jobs.submit
    keeper = RecordsKeeper(
        history,
        clock=clock,
        wall_ms=wall_ms,
        delete_media=_media_deleter(audio, recording),
        retention_days=cfg.retention_days,
        interval_ms=cfg.retention_interval_s * 1000.0,
        stale_after_ms=cfg.stale_after_s * 1000.0,
        is_live=lambda call_id: recorder.live(call_id) is not None,
    )
    retention = keeper.start()
    try:
        yield CallRecords(history, recorder, jobs, keeper, privacy)
    finally:
        retention.cancel()
        await recorder.aclose()
        await jobs.join(timeout_s=2.0)
        await jobs.aclose()
        with contextlib.suppress(BaseException):
            await retention


class RecordsContainer(containers.DeclarativeContainer):
    """Call records: privacy, configuration, recording, summaries, the recorder."""

    core = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()

    privacy = providers.Singleton(privacy_policy, core.settings)
    config = providers.Singleton(records_config, core.settings, core.agents, core.instance_id)
    audio = providers.Singleton(wav_recorder, core.settings)
    recording_tokens = providers.Singleton(recording_tokens, core.settings)
    recording = providers.Resource(acs_recording, core.settings, recording_tokens)
    summarizer = providers.Singleton(summarizer_for, core.settings, adapters.llm)
    records = providers.Resource(
        call_records_resource,
        settings=core.settings,
        history=adapters.call_history,
        clock=core.clock,
        privacy=privacy,
        config=config,
        recording=recording,
        audio=audio,
        summarizer=summarizer,
    )
    recorder = providers.Callable(lambda r: r.recorder, records)
    transcripts = providers.Singleton(RecordingTranscriptLog, adapters.transcripts, recorder)


# --------------------------------------------------------------------------- routes


def records_routes(settings: Settings, records: CallRecords, tokens: Any) -> list[BaseRoute]:
    """``/api/calls...`` (operator key) and, with ACS, the recording endpoints."""
    operator = settings.server.operator_key
    routes = call_history_routes(
        records.history,
        operator.get_secret_value() if operator is not None else None,
        caller_key=records.privacy.number,
        erase=records.keeper.erase,
        recordings_dir=settings.records.dir / RECORDINGS_FOLDER,
    )
    if _acs_on(settings):
        routes.extend(_recording_routes(settings, records.history, tokens))
    return routes


def _recording_routes(settings: Settings, history: CallHistory, tokens: Any) -> list[BaseRoute]:
    from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator
    from adapters.acs.recording_events import RecordingEndpoints

    acs = settings.acs
    validator = None
    if acs.verify_tokens and acs.resource_id:
        validator = AcsTokenValidator(
            AcsAuthConfig(
                audience=acs.resource_id,
                openid_config_url=acs.openid_config_url,
                jwks_url=acs.jwks_url or None,
            )
        )
    endpoints = RecordingEndpoints(
        history,
        tokens=tokens,
        validator=validator,
        webhook_key=acs.webhook_key.get_secret_value() if acs.webhook_key else None,
        wall_ms=wall_ms,
    )
    return endpoints.routes()
