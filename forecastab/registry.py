"""The one registry helper: look a name up, reject unknown keys with a did-you-mean, construct.

Strategies (and anything else registered by name) build their typed dataclass configs through
:func:`build_config`, so every parameter of a YAML entry is checked the same way: an unknown key
names the nearest valid one, a missing required key names what is required, and a value of the
wrong type says which type was expected.
"""

from __future__ import annotations

import dataclasses
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from forecastab.errors import ConfigError, unknown_name

T = TypeVar("T")


def lookup(kind: str, name: object, registry: Mapping[str, T]) -> T:
    """The entry of ``registry`` called ``name``.

    Args:
        kind: what the registry holds, for the message (``"strategy method"``).
        name: the name to look up.
        registry: name -> entry.

    Returns:
        The entry.

    Raises:
        ConfigError: an unknown name, naming the nearest valid one and listing them all.

    >>> lookup("colour", "gren", {"green": 1, "red": 2})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown colour 'gren' (did you mean 'green'?); valid: green, red
    """
    if not isinstance(name, str) or name not in registry:
        raise ConfigError(unknown_name(kind, str(name), registry))
    return registry[name]


def check_keys(where: str, keys: typing.Iterable[object], valid: typing.Iterable[str]) -> None:
    """Raise on the first key not in ``valid``.

    >>> check_keys("noise_injection", ["sdt"], ["std", "context"])
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown key 'sdt' in noise_injection (did you mean 'std'?); valid: context, std
    """
    valid = list(valid)
    for key in keys:
        if key not in valid:
            message = unknown_name("key", str(key), valid)
            # "unknown key 'x' (did ...)" -> "unknown key 'x' in <where> (did ...)"
            head, _, tail = message.partition(f"'{key}'")
            raise ConfigError(f"{head}'{key}' in {where}{tail}")


def build_config(cls: type[T], spec: Mapping[str, Any] | None, *, where: str) -> T:
    """A typed dataclass config from a YAML mapping, every key and value type checked.

    Values must match the field's annotation (``int``, ``float``, ``bool``, ``str``, a mapping,
    or a union of them with ``None``); further checks belong in the dataclass's
    ``__post_init__``.

    Args:
        cls: a dataclass.
        spec: the mapping (None: all defaults).
        where: where the mapping sits, for messages (``"noise_injection"``).

    Returns:
        The config.

    Raises:
        ConfigError: an unknown key, a missing required key or a value of the wrong type.

    >>> @dataclasses.dataclass
    ... class Noise:
    ...     std: float
    ...     context: bool = False
    >>> build_config(Noise, {"std": 1}, where="noise_injection")
    Noise(std=1, context=False)
    >>> build_config(Noise, {"std": "big"}, where="noise_injection")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: noise_injection: std must be a number, got 'big'
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping of parameters, got {spec!r}")
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    check_keys(where, spec, fields)
    required = [
        name
        for name, field in fields.items()
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in spec]
    if missing:
        raise ConfigError(f"missing key '{missing[0]}' in {where}; required: {', '.join(required)}")
    hints = typing.get_type_hints(cls)
    for key, value in spec.items():
        _check_type(where, key, value, hints.get(key, Any))
    try:
        return cls(**spec)
    except ConfigError as error:
        message = str(error)
        raise ConfigError(message if message.startswith(where) else f"{where}: {message}") from None


_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _accepts(annotation: Any, value: object) -> bool:
    if annotation is Any:
        return True
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin is not None:
        return isinstance(value, origin)
    return isinstance(value, annotation)


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, typing.get_args(annotation)))
    if annotation is type(None):
        return "null"
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        return "a mapping"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _check_type(where: str, key: str, value: object, annotation: Any) -> None:
    if not _accepts(annotation, value):
        raise ConfigError(f"{where}: {key} must be {_describe(annotation)}, got {value!r}")
