"""Fast copies of frozen dataclasses for the hot path, generated from their fields.

``dataclasses.replace`` inspects every field on every call; on the hottest event of a call
(one ``PlaybackProgress`` per 20 ms frame played) that cost is most of the step. A copier
made here is the positional constructor call one would write by hand, generated once from
the class's fields (as :mod:`dataclasses` generates ``__init__``), so adding a field needs no
edit anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any


def nested_copier(
    cls: type[Any], field: str, inner: type[Any], changed: tuple[str, ...]
) -> Callable[..., Any]:
    """A function ``copy(obj, *values)`` that copies a value inside a value in one call.

    The copy is ``obj`` whose ``field`` (an ``inner``) has the fields ``changed`` set, in
    order; ``obj.field`` must not be None.

    Raises:
        ValueError: ``field`` is not a field of ``cls`` or a name in ``changed`` not one of
            ``inner``.
    """
    outer_names = _names(cls, (field,))
    inner_names = _names(inner, changed)
    params = ", ".join(f"v_{name}" for name in changed)
    inner_args = ", ".join(f"v_{n}" if n in changed else f"part.{n}" for n in inner_names)
    args = ", ".join(f"inner({inner_args})" if n == field else f"obj.{n}" for n in outer_names)
    source = f"def copy(obj, {params}):\n    part = obj.{field}\n    return cls({args})\n"
    return _make(source, {"cls": cls, "inner": inner}, f"{cls.__name__}_{field}")


def copier(cls: type[Any], changed: tuple[str, ...]) -> Callable[..., Any]:
    """A function ``copy(obj, *values)``: ``obj`` with the fields ``changed`` set, in order.

    Args:
        cls: A dataclass whose fields are all ``__init__`` parameters.
        changed: Names of the fields the copy sets, in the copier's argument order.

    Returns:
        The copier; it is as fast as a hand-written positional ``cls(...)`` call.

    Raises:
        ValueError: A name in ``changed`` is not a field of ``cls``.
    """
    names = _names(cls, changed)
    params = ", ".join(f"v_{name}" for name in changed)
    args = ", ".join(f"v_{n}" if n in changed else f"obj.{n}" for n in names)
    source = f"def copy(obj, {params}):\n    return cls({args})\n"
    return _make(source, {"cls": cls}, cls.__name__)


def _names(cls: type[Any], changed: tuple[str, ...]) -> list[str]:
    names = [f.name for f in fields(cls)]
    unknown = set(changed) - set(names)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {sorted(unknown)}")
    return names


def _make(source: str, namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    # The source is built only from the classes' own field names, never from input.
    exec(source, namespace)  # noqa: S102
    made: Callable[..., Any] = namespace["copy"]
    made.__qualname__ = made.__name__ = f"copy_{name}"
    return made
