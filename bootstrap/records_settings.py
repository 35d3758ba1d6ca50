"""Settings of durable call records: ``PARLEY_RECORDS_*`` and ``POSTGRES_*``.

Which store holds the records is ``PARLEY_CALL_RECORDS`` (``sqlite``, the embedded default;
``postgres``; ``memory``), a row of the selection table like every other port. The rest is
here, so call-record keys change in one place (``docs/call-records.md`` explains each):

* where SQLite files and Parley's own WAV recordings go (``PARLEY_RECORDS_DIR``);
* data protection: ``PARLEY_RECORDS_CALLER`` (keep, mask, hash with
  ``PARLEY_RECORDS_HASH_KEY``, drop), ``PARLEY_RECORDS_TRANSCRIPT`` (keep, redact, drop),
  ``PARLEY_RECORDS_RETENTION_DAYS`` (0 keeps records forever);
* recording: ``PARLEY_RECORDS_RECORDING`` (off, all, agents) and
  ``PARLEY_RECORDS_RECORDING_MODE`` (auto, acs, own, both);
* the post-call summary: on/off, deadline, tries;
* the write-behind bound and the per-operation deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from bootstrap.settings_base import SettingsGroup, group_config


class CallRecordsSettings(SettingsGroup):
    """Call records: storage folder, data protection, recording, summaries, bounds."""

    prefix: ClassVar[str] = "PARLEY_RECORDS_"
    model_config = group_config(prefix)

    dir: Path = Path("data")
    """Folder of the SQLite file (``calls.sqlite3``) and own recordings (``recordings/``)."""
    caller: Literal["keep", "mask", "hash", "drop"] = "keep"
    """How caller and callee numbers are stored."""
    hash_key: SecretStr | None = Field(default=None, validate_default=True)
    """HMAC key of ``caller=hash`` (16+ bytes; the same on every instance)."""
    transcript: Literal["keep", "redact", "drop"] = "keep"
    """How the words of a call are stored (redact: numbers and e-mail addresses)."""
    retention_days: float = Field(default=90.0, ge=0)
    """Records older than this are deleted with their recordings; 0 keeps them."""
    retention_interval_s: float = Field(default=3600.0, gt=0)
    """How often the retention job runs, s."""
    stale_after_s: float = Field(default=21_600.0, ge=0)
    """A call still in progress after this long (its instance died) is marked lost; 0: never."""
    recording: Literal["off", "all", "agents"] = "off"
    """Which calls are recorded (agents: those of conversation.yaml records.recording_agents)."""
    recording_mode: Literal["auto", "acs", "own", "both"] = "auto"
    """auto: ACS recording for ACS calls, own WAV otherwise; or acs, own, both."""
    summary: bool = True
    """Write a post-call summary, disposition and fields into each record."""
    summary_timeout_s: float = Field(default=30.0, gt=0)
    """Deadline of one summary try, s."""
    summary_attempts: int = Field(default=3, ge=1, le=10)
    """Tries before a summary is recorded as failed."""
    write_behind_max: int = Field(default=10_000, gt=0)
    """Transcript lines that may wait while the database is down; beyond, lines are dropped
    (logged and counted)."""
    timeout_ms: float = Field(default=2000.0, gt=0)
    """Deadline of each database operation, ms."""

    @field_validator("hash_key")
    @classmethod
    def _key_for_hashing(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("caller") == "hash":
            raise ValueError("required with PARLEY_RECORDS_CALLER=hash")
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("must be at least 16 bytes")
        return value


class PostgresSettings(SettingsGroup):
    """PostgreSQL, for ``PARLEY_CALL_RECORDS=postgres``."""

    prefix: ClassVar[str] = "POSTGRES_"
    model_config = group_config(prefix)

    url: SecretStr | None = None
    """``postgresql://user:password@host:5432/db`` (or a libpq key=value string)."""
    pool_min: int = Field(default=1, ge=0)
    """Connections kept open."""
    pool_max: int = Field(default=4, ge=1)
    """Most connections opened."""
    connect_timeout_ms: float = Field(default=2000.0, gt=0)
    """Deadline of opening one connection, ms."""

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value() if value is not None else ""
        if text and "://" in text and not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or be a libpq key=value string)")
        return value
