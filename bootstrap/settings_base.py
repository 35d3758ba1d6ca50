"""The base of every settings group (``bootstrap.settings``, ``bootstrap.runtime_settings``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict


def group_config(prefix: str) -> SettingsConfigDict:
    """The pydantic-settings configuration every group uses, with env prefix ``prefix``."""
    return SettingsConfigDict(
        env_prefix=prefix,
        case_sensitive=False,
        # Empty values in .env (as copied from .env.example) mean "use the default".
        env_ignore_empty=True,
        # Several groups share a prefix (PARLEY_) and .env holds every group's keys; unknown
        # keys are reported as warnings by `parley check` instead (see unknown_keys()).
        extra="ignore",
        frozen=True,
    )


class SettingsGroup(BaseSettings):
    """Base of every settings group: knows its prefix, so errors can name env keys."""

    prefix: ClassVar[str] = ""

    @classmethod
    def env_key(cls, field: str) -> str:
        """The environment variable that sets ``field``, e.g. ``PARLEY_PORT``."""
        return f"{cls.prefix}{field}".upper()

    @classmethod
    def env_keys(cls) -> list[str]:
        """Every environment variable this group reads, in field order."""
        return [cls.env_key(name) for name in cls.model_fields]
