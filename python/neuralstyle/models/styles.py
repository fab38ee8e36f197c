"""The 26 built-in styles: names artists pick from, and the weight vectors the network takes.

The list lives in ``styles.json`` next to this file (the C++ plugin reads the same file when it is
configured, to build the node's style menu). It is read on first use, not at import.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

import torch
from torch import Tensor

from neuralstyle.errors import InputError, ModelError

__all__ = ["STYLES", "Style", "all_styles", "resolve_style", "style_weights"]


@dataclass(frozen=True)
class Style:
    """One built-in style: its row in the network's CIN tables, a name and what it looks like."""

    index: int
    name: str
    description: str


STYLES: tuple[Style, ...]  # provided by __getattr__ on first access


@functools.cache
def all_styles() -> tuple[Style, ...]:
    """The built-in styles in index order, read from ``styles.json`` once."""
    text = resources.files("neuralstyle.models").joinpath("styles.json").read_text("utf-8")
    try:
        styles = tuple(
            Style(int(s["index"]), s["name"], s["description"]) for s in json.loads(text)["styles"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"styles.json is malformed: {exc}") from exc
    if [s.index for s in styles] != list(range(len(styles))):
        raise ModelError("styles.json: expected indices 0, 1, 2, ... in order")
    return styles


def __getattr__(name: str) -> tuple[Style, ...]:
    # STYLES is computed on first access (PEP 562) so importing this module reads no file.
    if name == "STYLES":
        return all_styles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_style(name_or_index: str | int | Style) -> Style:
    """Find a built-in style by name (case-insensitive), index, or index as a digit string.

    Raises:
        InputError: no such style; the message lists close or example names.

    Examples:
        >>> resolve_style(3) == resolve_style("3") == resolve_style(all_styles()[3].name)
        True
    """
    styles = all_styles()
    if isinstance(name_or_index, Style):
        if name_or_index not in styles:
            raise InputError(f"{name_or_index!r} is not one of the built-in styles")
        return name_or_index
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        if 0 <= name_or_index < len(styles):
            return styles[name_or_index]
        raise InputError(
            f"style index must be 0 to {len(styles) - 1}, got {name_or_index}; "
            "`neuralstyle styles` lists them"
        )
    if isinstance(name_or_index, str):
        key = name_or_index.strip().lower()
        if key.isdigit():
            return resolve_style(int(key))
        for style in styles:
            if style.name == key:
                return style
        names = [s.name for s in styles]
        close = difflib.get_close_matches(key, names, n=3)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"valid names include {', '.join(names[:4])}"
        )
        raise InputError(
            f"unknown style {name_or_index!r}: {hint} "
            f"(`neuralstyle styles` lists all {len(styles)})"
        )
    raise InputError(f"a style is a name or an index, got {type(name_or_index).__name__}")


def style_weights(
    style: str | int | Style,
    second_style: str | int | Style | None = None,
    blend: float = 0.0,
) -> Tensor:
    """The network's style-weight vector: ``1 - blend`` of ``style`` plus ``blend`` of the second.

    The weights mix the CIN parameters, so a blend is one network between two styles rather than a
    cross-fade of two pictures. Without a second style (``None`` or ``""``) the result is the
    one-hot vector of ``style`` whatever ``blend`` is. The same style twice is allowed.

    Args:
        style: the primary style (name, index or :class:`Style`).
        second_style: the style to blend towards.
        blend: weight of ``second_style``, from 0 to 1.

    Returns:
        float32 CPU tensor of shape ``(26,)`` summing to 1.

    Raises:
        InputError: an unknown style, or ``blend`` outside [0, 1].
    """
    if not (isinstance(blend, (int, float)) and math.isfinite(blend) and 0.0 <= blend <= 1.0):
        raise InputError(f"style blend must be between 0 and 1, got {blend!r}")
    first = resolve_style(style)
    weights = torch.zeros(len(all_styles()), dtype=torch.float32)
    if second_style is None or second_style == "":
        weights[first.index] = 1.0
        return weights
    second = resolve_style(second_style)
    weights[first.index] += 1.0 - blend
    weights[second.index] += blend
    return weights
