"""Animated node parameters for a command-line render, evaluated as the OpenFX node's host does.

The node's doubles (``strength``, ``style_blend``, ``stroke_scale``) interpolate linearly between
keys and hold their first/last value outside them; its choices and files (``style``,
``second_style``: built-in names or style image paths) step: the value of
the last key at or before the frame (the first key before it). This is tests/ofxhost's rule and
the same double arithmetic, ``v0 + (t - t0) / (t1 - t0) * (v1 - v0)``, so a frame rendered here gets
bit-for-bit the value the node would get at that time.

Values come from the command line (``--strength 0.5`` or ``--strength 1001:0,1050:1``) or a small
JSON/YAML file (``strength: {1001: 0, 1050: 1}``); the command line wins.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from neuralstyle.errors import InputError
from neuralstyle.params.table import PARAMETERS

__all__ = ["ANIMATABLE", "DEFAULTS", "RANGES", "Curve", "Keyframes"]

#: Parameter -> interpolation: the node's doubles are linear, its choices step (the table's
#: ``keyed``).
ANIMATABLE = {p.name: p.keyed for p in PARAMETERS if p.keyed is not None}
#: The range of each linear parameter (the node's min and max).
RANGES = {p.name: p.hard for p in PARAMETERS if p.keyed == "linear" and p.hard is not None}
#: The method's settings, constant over a shot: their command-line options (for messages).
_CONSTANT = {p.name: p.flag for p in PARAMETERS if p.group == "method" and p.flag}
#: The node's defaults (docs/contract.md), used for parameters nobody set; a style menu's default
#: is its position as text (``"0"``: the first style; ``""``: none).
DEFAULTS: dict[str, float | str] = {
    p.name: p.default if p.keyed == "linear" else str(p.default)
    for p in PARAMETERS
    if p.keyed is not None and p.default is not None
}


@dataclass(frozen=True)
class Curve:
    """One parameter over time: ``keys`` sorted by frame; one key means a constant."""

    name: str
    keys: tuple[tuple[float, float | str], ...]

    @property
    def linear(self) -> bool:
        return ANIMATABLE[self.name] == "linear"

    def at(self, frame: float) -> float | str:
        """The value at ``frame`` (see the module docstring for the rule)."""
        keys = self.keys
        if frame <= keys[0][0]:
            return keys[0][1]
        if frame >= keys[-1][0]:
            return keys[-1][1]
        index = next(i for i, (t, _) in enumerate(keys) if t >= frame)
        t1, v1 = keys[index]
        t0, v0 = keys[index - 1]
        if t1 == frame or not self.linear:
            return v1 if t1 == frame else v0
        assert isinstance(v0, float) and isinstance(v1, float)
        a = (frame - t0) / (t1 - t0)
        return v0 + a * (v1 - v0)


class Keyframes:
    """The animatable parameters of a render, each a :class:`Curve`.

    Build it with :meth:`from_sources`; :meth:`at` gives the node's ``params`` for one frame.
    """

    def __init__(self, curves: Mapping[str, Curve]) -> None:
        self.curves = dict(curves)

    @classmethod
    def from_sources(
        cls,
        file: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, str | None] | None = None,
    ) -> Keyframes:
        """Curves from a JSON/YAML ``file`` (may be None) and command-line ``overrides``.

        Raises:
            InputError: an unreadable file, an unknown parameter, a bad key or value.
        """
        specs: dict[str, object] = dict(_read_file(Path(file))) if file is not None else {}
        for name, text in (overrides or {}).items():
            if text is not None:
                specs[name] = _parse_cli(name, text)
        curves = {name: _curve(name, specs.get(name, DEFAULTS[name])) for name in ANIMATABLE}
        return cls(curves)

    def at(self, frame: float) -> dict[str, float | str]:
        """The parameter values at ``frame``."""
        return {name: curve.at(frame) for name, curve in self.curves.items()}

    def describe(self) -> dict[str, object]:
        """A JSON-able summary (constants as values, animations as ``{frame: value}``)."""
        out: dict[str, object] = {}
        for name, curve in self.curves.items():
            if len(curve.keys) == 1:
                out[name] = curve.keys[0][1]
            else:
                out[name] = {_frame_text(t): v for t, v in curve.keys}
        return out


def _frame_text(frame: float) -> str:
    return str(int(frame)) if frame.is_integer() else repr(frame)


def _read_file(path: Path) -> Mapping[str, object]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the keyframe file {path}: {exc.strerror or exc}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json/yaml parser errors have no common base beyond Exception
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"the keyframe file {path} is not valid JSON/YAML: {first}") from exc
    if not isinstance(data, Mapping):
        raise InputError(f"the keyframe file {path} must hold a mapping such as strength: 0.5")
    unknown = sorted(str(k) for k in data if k not in ANIMATABLE)
    if unknown:
        constant = [name for name in unknown if name in _CONSTANT]
        hint = (
            f" ({', '.join(constant)}: constant over the shot, so not keyframed; give "
            f"{'it' if len(constant) == 1 else 'them'} on the command line: "
            f"{', '.join(_CONSTANT[name] for name in constant)})"
            if constant
            else ""
        )
        raise InputError(
            f"the keyframe file {path} names unknown parameter {', '.join(unknown)}; "
            f"expected {', '.join(ANIMATABLE)}{hint}"
        )
    return {str(k): v for k, v in data.items()}


def _parse_cli(name: str, text: str) -> object:
    """``0.5`` or ``candy`` (a constant), or ``1001:0,1050:1`` (keys)."""
    if ":" not in text:
        return text
    keys: dict[str, str] = {}
    for part in text.split(","):
        frame, sep, value = part.partition(":")
        if not sep or not frame.strip() or not value.strip():
            raise InputError(
                f"--{name.replace('_', '-')}: cannot read {part.strip()!r}; "
                "expected a value or FRAME:VALUE,FRAME:VALUE"
            )
        keys[frame.strip()] = value.strip()
    return keys


def _curve(name: str, spec: object) -> Curve:
    flag = name.replace("_", "-")
    items = spec.items() if isinstance(spec, Mapping) else [(0.0, spec)]
    keys: dict[float, float | str] = {}
    for frame, value in items:
        t = _number(frame, f"{flag}: key frame")
        keys[t] = _value(name, value)
    if not keys:
        raise InputError(f"{flag}: no keys given")
    return Curve(name, tuple(sorted(keys.items())))


def _number(value: object, what: str) -> float:
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]  # checked by the except
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be finite, got {value!r}")
    return number


def _value(name: str, value: object) -> float | str:
    flag = name.replace("_", "-")
    if ANIMATABLE[name] == "linear":
        number = _number(value, flag)
        low, high = RANGES[name]
        if not low <= number <= high:
            raise InputError(f"{flag} must be from {low:g} to {high:g}, got {value!r}")
        return number
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{flag} must be a style name, index or image file, got {value!r}")
    return str(value).strip()
