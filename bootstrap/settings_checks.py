"""Value checks shared by the settings groups, and the checks that span several groups.

Field checks raise ``ValueError`` (pydantic turns it into a validation error that
:func:`bootstrap.settings.load_settings` reports under the env key). :func:`cross_group_problems`
returns one line per problem, each starting with the env key, for rules that depend on more
than one value (for example ``ACS_RESOURCE_ID`` is needed only while ACS is configured and
token checks are on). Messages never echo a secret's value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bootstrap.settings import Settings

REDIS_SCHEMES = ("redis", "rediss", "unix")
"""URL schemes redis-py's ``Redis.from_url`` accepts (redis-py docs, "Connecting to Redis":
https://redis.readthedocs.io/en/stable/connections.html#redis.Redis.from_url)."""


def url(value: str, *, schemes: tuple[str, ...], optional: bool = True) -> str:
    """``value`` when it is an absolute URL with one of ``schemes`` and a host.

    Args:
        value: The raw setting.
        schemes: Accepted schemes, lower case, e.g. ``("http", "https")``.
        optional: An empty value is accepted (it means "not used" / "default").

    Raises:
        ValueError: Not a URL, another scheme, or no host; the message names the schemes.
    """
    if optional and not value:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    wanted = " or ".join(f"{s}://" for s in schemes)
    if parts.scheme.lower() not in schemes:
        raise ValueError(f"must be a URL starting with {wanted}")
    if parts.scheme.lower() != "unix" and not parts.hostname:
        raise ValueError(f"must be a URL with a host ({wanted}host[:port]...)")
    return value


def acs_connection_string(value: str) -> str:
    """``value`` when it has the ``endpoint=...;accesskey=...`` shape ACS issues.

    Source: "Create and manage Communication Services resources", connection string
    https://learn.microsoft.com/azure/communication-services/quickstarts/create-communication-resource

    Raises:
        ValueError: A part is missing or the endpoint is not an http(s) URL (never echoes
            the value: it holds the access key).
    """
    parts: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            parts[key.strip().lower()] = val.strip()
    if not parts.get("endpoint") or not parts.get("accesskey"):
        raise ValueError("needs endpoint=https://...;accesskey=...")
    try:
        url(parts["endpoint"], schemes=("http", "https"), optional=False)
    except ValueError as exc:
        raise ValueError(f"its endpoint {exc}") from None
    return value


def cross_group_problems(settings: Settings) -> list[str]:
    """Problems that depend on several settings, one line each, starting with the env key."""
    problems: list[str] = []
    acs = settings.acs
    acs_on = settings.providers.telephony == "acs" and bool(acs.connection_string or acs.endpoint)
    if acs_on and acs.verify_tokens and not acs.resource_id:
        problems.append(
            "ACS_RESOURCE_ID: required while ACS is configured and ACS_VERIFY_TOKENS=true "
            "(it is the audience of the JWTs ACS signs callbacks and media with)"
        )
    if settings.server.workers > 1 and settings.providers.store != "redis":
        problems.append(
            "PARLEY_WORKERS: above 1 needs PARLEY_STORE=redis (a call's callbacks may reach any"
            " worker process; the Redis-backed router delivers them to the one that owns it)"
        )
    return problems
