"""The errors forecastab raises for bad input.

Every message is one readable line that names the problem and the fix; the CLI prints it as
``forecastab: error: <message>`` and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ForecastabError(ValueError):
    """Bad input from a user: a file, a column, a config key, a parameter."""


class DataError(ForecastabError):
    """A series that cannot be used as given (missing file, NaN, bad timestamps, ...)."""


class ConfigError(ForecastabError):
    """An experiment config or parameter that is invalid."""


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The closest valid name to a misspelled one, or None when nothing is close.

    >>> nearest("horizn", ["horizon", "context_length"])
    'horizon'
    """
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name(kind: str, word: str, choices: Iterable[str]) -> str:
    """A message for an unknown name that suggests the nearest valid one and lists them all.

    >>> unknown_name("schedule", "lineer", ["constant", "linear"])
    "unknown schedule 'lineer' (did you mean 'linear'?); valid: constant, linear"
    """
    choices = sorted(choices)
    guess = nearest(word, choices)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"unknown {kind} '{word}'{hint}; valid: {', '.join(choices)}"
