"""A parameter's value checked against the table: its range or its menu, and its default.

The engine's request (:mod:`neuralstyle.engine.request`) checks every value it takes with these, so
a range or menu changed in the table is the one the API, the CLI and the node are held to. The
errors name the parameter and what it accepts.
"""

from __future__ import annotations

import math
from typing import Any

from neuralstyle.errors import InputError
from neuralstyle.params.table import by_name

__all__ = ["choice", "default", "hard_range", "number", "number_in"]


def default(name: str) -> Any:
    """The default of parameter ``name``."""
    return by_name()[name].default


def hard_range(name: str) -> tuple[float, float]:
    """The range parameter ``name`` (a number) accepts."""
    hard = by_name()[name].hard
    if hard is None:
        raise KeyError(f"parameter {name} has no range")
    return hard


def number(name: str, value: object) -> float:
    """``value`` as a float in the table's range of ``name``.

    Raises:
        InputError: not a number, not finite, or out of range.
    """
    return number_in(name, value, *hard_range(name))


def number_in(name: str, value: object, low: float, high: float) -> float:
    """``value`` as a float in [``low``, ``high``], or InputError naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    result = float(value)
    if not (math.isfinite(result) and low <= result <= high):
        raise InputError(f"{name} must be from {low:g} to {high:g}, got {value!r}")
    return result


def choice(name: str, value: object) -> str:
    """``value`` if it is one of the option values of ``name``.

    Raises:
        InputError: anything else, listing the options.
    """
    options = by_name()[name].values
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value
