"""What a render is asked to do, validated in one place for the plugin, the Python API and the CLI.

The three front ends build the same :class:`StyleRequest` from the same values, so they run the
same code and produce the same bits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from neuralstyle.models.styles import Style

__all__ = ["DEVICES", "PARAMS", "StyleRequest"]

#: Values of the ``device`` parameter.
DEVICES = ("auto", "cpu", "cuda")
#: The plugin's parameter names (docs/contract.md); the keys :meth:`StyleRequest.from_params` takes.
PARAMS = ("style", "second_style", "style_blend", "strength", "device")


def _unit_float(name: str, value: object) -> float:
    """``value`` as a float in [0, 1], or InputError naming the parameter and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number from 0 to 1, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise InputError(f"{name} must be from 0 to 1, got {value!r}")
    return number


def _style(name: str, value: object) -> Style:
    """The built-in style ``value`` names, or InputError naming the parameter."""
    from neuralstyle.models.styles import Style, resolve_style

    if isinstance(value, bool) or not isinstance(value, (str, int, Style)):
        raise InputError(f"{name} must be a style name or index, got {value!r}")
    try:
        return resolve_style(value)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class StyleRequest:
    """One render's settings, already checked. Build it with :meth:`create` or :meth:`from_params`.

    Attributes:
        style: the built-in style.
        second_style: a style to blend towards, or None.
        style_blend: weight of ``second_style`` in [0, 1]; 0.0 whenever there is no second style,
            so equal settings give equal requests.
        strength: 0 returns the source bit-exactly, 1 the full style.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    """

    style: Style
    second_style: Style | None
    style_blend: float
    strength: float
    device: str

    @classmethod
    def create(
        cls,
        style: str | int | Style = 0,
        second_style: str | int | Style | None = None,
        style_blend: float = 0.5,
        strength: float = 1.0,
        device: str = "auto",
    ) -> StyleRequest:
        """Check the values and resolve style names.

        ``second_style`` of None or ``""`` means no blend (``style_blend`` is then ignored).

        Raises:
            InputError: an unknown style or device, or a number outside [0, 1]; the message names
                the parameter and the allowed values.
        """
        return cls._checked(style, second_style, style_blend, strength, device)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> StyleRequest:
        """The request for the plugin's ``params`` dict (docs/contract.md). Missing keys take
        their defaults; ``style`` and ``second_style`` are names there.

        Raises:
            InputError: an unknown key, a value of the wrong type or out of range.
        """
        if not isinstance(params, Mapping):
            raise InputError(f"params must be a dict, got {type(params).__name__}")
        unknown = sorted(str(k) for k in params if k not in PARAMS)
        if unknown:
            raise InputError(
                f"unknown parameter {', '.join(unknown)}; expected keys: {', '.join(PARAMS)}"
            )
        for key in ("style", "second_style"):
            if key in params and not isinstance(params[key], str):
                raise InputError(f"{key} must be a style name, got {params[key]!r}")
        return cls._checked(
            params.get("style", 0),
            params.get("second_style"),
            params.get("style_blend", 0.5),
            params.get("strength", 1.0),
            params.get("device", "auto"),
        )

    @classmethod
    def _checked(
        cls,
        style: object,
        second_style: object,
        style_blend: object,
        strength: object,
        device: object,
    ) -> StyleRequest:
        first = _style("style", style)
        second = None if second_style in (None, "") else _style("second_style", second_style)
        blend = _unit_float("style_blend", style_blend)
        if not isinstance(device, str) or device not in DEVICES:
            raise InputError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        return cls(
            style=first,
            second_style=second,
            style_blend=blend if second is not None else 0.0,
            strength=_unit_float("strength", strength),
            device=device,
        )

    @property
    def is_identity(self) -> bool:
        """True when a render returns its source unchanged (strength 0)."""
        return self.strength == 0.0
