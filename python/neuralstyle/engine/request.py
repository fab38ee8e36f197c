"""What a render is asked to do, validated in one place for the plugin, the Python API and the CLI.

The three front ends build the same :class:`StyleRequest` from the same values, so they run the
same code and produce the same bits.

Methods and the controls each one takes (:mod:`neuralstyle.engine.methods`; a control a method
cannot honour is an error from the API and the CLI; the node's unused parameters are ignored,
since a node always has all of them):

============  ======================  ===========================================================
method        style                   controls
============  ======================  ===========================================================
builtin       a built-in style        strength (pixel mix), blend, mask, two styles by mask,
                                      colour ``luminance``, stroke scale
fast          any image               strength (style-vector interpolation, then pixel mix),
                                      blend, mask, two styles by mask, colour
                                      ``luminance``/``histogram``, stroke scale
adain         any image               as fast, but strength is the feature-space alpha
optimize      any image               all of fast's (strength is a pixel mix), plus seed, init,
                                      quality (steps), style weight
trained       a trained network       strength (pixel mix), mask, colour ``luminance``, stroke
              (``.safetensors``)      scale
============  ======================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralstyle.engine.methods import Method, method_for
from neuralstyle.engine.style_source import (
    StyleImage,
    TrainedFile,
    builtin_style,
    is_builtin_name,
    is_trained_file,
    looks_like_file,
    style_image,
    trained_file,
)
from neuralstyle.errors import InputError
from neuralstyle.params import checks
from neuralstyle.params.table import ALL_METHODS, PARAMETERS, choice_values, engine_params

if TYPE_CHECKING:
    from neuralstyle.models.styles import Style

__all__ = [
    "COLOUR_MODES",
    "DEVICES",
    "INITS",
    "MASK_MODES",
    "METHODS",
    "PARAMS",
    "QUALITIES",
    "StyleRequest",
    "default_method",
]

DEVICES = choice_values("device")
METHODS = ALL_METHODS
#: Colour preservation (Gatys et al. 2017): none, luminance-only transfer, histogram matching.
COLOUR_MODES = choice_values("preserve_colour")
#: What the mask does: limit the effect (0 keeps the source), or choose the style (1: the first
#: style, 0: the second).
MASK_MODES = choice_values("mask_mode")
#: Optimisation presets (evaluations per pyramid level: methods.optimize.QUALITY_STEPS).
QUALITIES = choice_values("quality")
INITS = choice_values("init")
#: The plugin's parameter names (docs/contract.md); the keys :meth:`StyleRequest.from_params` takes.
PARAMS = tuple(p.name for p in engine_params())
#: Options that only the optimisation method reads.
_OPTIMIZE_ONLY = tuple(p.name for p in PARAMETERS if p.methods == ("optimize",))


@dataclass(frozen=True)
class StyleRequest:
    """One render's settings, already checked. Build it with :meth:`create` or :meth:`from_params`.

    Attributes:
        method: ``"builtin"``, ``"fast"``, ``"adain"``, ``"optimize"`` or ``"trained"``.
        style: the built-in :class:`~neuralstyle.models.styles.Style` (builtin), a
            :class:`StyleImage` (fast, adain, optimize) or a :class:`TrainedFile` (trained).
        second_style: a style to blend towards (or, with ``mask_mode="styles"``, the style
            outside the mask), or None.
        style_blend: weight of ``second_style`` in [0, 1]; 0.0 whenever there is no second style
            or the mask chooses the styles, so equal settings give equal requests.
        strength: 0 returns the source bit-exactly, 1 the full style.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        preserve_colour: ``"none"``, ``"luminance"`` or ``"histogram"``.
        stroke_scale: stroke size relative to the full-resolution frame (1: as painted).
        mask_mode: ``"strength"`` (the mask limits the effect) or ``"styles"`` (the mask's
            inside gets ``style``, its outside ``second_style``).
        seed, init, quality, style_weight, steps, working_resolution: optimisation only (None
            for other methods): noise seed, start image, preset, weight of the style loss,
            evaluations per pyramid level (None: the quality preset's), and the fraction of the
            frame's resolution it runs at (None: all of it).
    """

    style: Style | StyleImage | TrainedFile
    second_style: Style | StyleImage | None
    style_blend: float
    strength: float
    device: str
    method: str = "builtin"
    preserve_colour: str = "none"
    stroke_scale: float = 1.0
    mask_mode: str = "strength"
    seed: int | None = None
    init: str | None = None
    quality: str | None = None
    style_weight: float | None = None
    steps: int | None = None
    working_resolution: float | None = None

    @classmethod
    def create(
        cls,
        style: object = 0,
        second_style: object = None,
        style_blend: float = 0.5,
        strength: float = 1.0,
        device: str = "auto",
        *,
        method: str | None = None,
        preserve_colour: str = "none",
        stroke_scale: float = 1.0,
        mask_mode: str = "strength",
        seed: int | None = None,
        init: str | None = None,
        quality: str | None = None,
        style_weight: float | None = None,
        steps: int | None = None,
        working_resolution: float | None = None,
    ) -> StyleRequest:
        """Check the values and resolve styles.

        ``style`` is a built-in style (name, index) or, for the arbitrary-style methods, an image
        (a path or an array). ``method`` None picks ``"builtin"`` for a built-in style and
        ``"fast"`` for an image and ``"trained"`` for a ``.safetensors`` file.
        ``second_style`` of None or ``""`` means none.

        Raises:
            InputError: an unknown style, method or option; a number out of range; an option the
                method does not support. The message names the parameter and the allowed values.
            ImageIOError: a style file is missing or is not an image.
        """
        how = method_for(default_method(style) if method is None else method)
        given = {
            "seed": seed,
            "init": init,
            "quality": quality,
            "style_weight": style_weight,
            "steps": steps,
            "working_resolution": working_resolution,
        }
        unread = [k for k in _OPTIMIZE_ONLY if given[k] is not None and k not in how.reads]
        if unread:
            raise InputError(f"{', '.join(unread)}: only for method optimize, not {how.name}")
        return cls._checked(
            how,
            style,
            second_style,
            style_blend=style_blend,
            strength=strength,
            device=device,
            preserve_colour=preserve_colour,
            stroke_scale=stroke_scale,
            mask_mode=mask_mode,
            seed=seed,
            init=init,
            quality=quality,
            style_weight=style_weight,
            steps=steps,
            working_resolution=working_resolution,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> StyleRequest:
        """The request for the plugin's ``params`` dict (docs/contract.md). Missing keys take
        their defaults; ``style``/``second_style`` are built-in names and ``style_file``/
        ``second_style_file`` paths (``""``: none). Parameters the method does not read are
        ignored, as a node always has them all.

        Raises:
            InputError: an unknown key, a value of the wrong type or out of range.
            ImageIOError: the method needs a style file that is missing or is not an image.
        """
        if not isinstance(params, Mapping):
            raise InputError(f"params must be a dict, got {type(params).__name__}")
        unknown = sorted(str(k) for k in params if k not in PARAMS)
        if unknown:
            raise InputError(
                f"unknown parameter {', '.join(unknown)}; expected keys: {', '.join(PARAMS)}"
            )
        for key, what in (
            ("style", "a style name"),
            ("second_style", "a style name"),
            ("style_file", "a file path"),
            ("second_style_file", "a file path"),
        ):
            if key in params and not isinstance(params[key], str):
                raise InputError(f"{key} must be {what}, got {params[key]!r}")
        how = method_for(params.get("method", checks.default("method")))
        if how.paints_with_network:
            style, second = params.get("style_file", ""), None
            if style == "":
                raise InputError(
                    "method trained paints with a trained network: set the style file "
                    "(style_file) to the .safetensors file `neuralstyle train` wrote"
                )
        elif how.paints_with_image:
            style = params.get("style_file", "")
            second = params.get("second_style_file")
            if style == "":
                raise InputError(
                    f"method {how.name} paints with a style image: set the style file (style_file)"
                )
        else:
            style, second = params.get("style", checks.default("style")), params.get("second_style")

        def read(name: str) -> object:
            """The value of ``name``, None for a parameter the method does not read."""
            return params.get(name, checks.default(name)) if name in how.reads else None

        seed = read("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InputError(f"seed must be an integer, got {seed!r}")
        return cls._checked(
            how,
            style,
            second,
            style_blend=params.get("style_blend", checks.default("style_blend")),
            strength=params.get("strength", checks.default("strength")),
            device=params.get("device", checks.default("device")),
            preserve_colour=params.get("preserve_colour", checks.default("preserve_colour")),
            stroke_scale=params.get("stroke_scale", checks.default("stroke_scale")),
            mask_mode=params.get("mask_mode", checks.default("mask_mode")),
            seed=seed,
            init=read("init"),
            quality=read("quality"),
            style_weight=read("style_weight"),
            steps=None,
            working_resolution=read("working_resolution"),
        )

    @classmethod
    def _checked(
        cls,
        method: Method,
        style: object,
        second_style: object,
        *,
        style_blend: object,
        strength: object,
        device: object,
        **options: Any,
    ) -> StyleRequest:
        first, second = cls._styles(method, style, second_style)
        blend = checks.number("style_blend", style_blend)
        device = checks.choice("device", device)
        colour = checks.choice("preserve_colour", options["preserve_colour"])
        if colour not in method.colour_modes:
            what = "trained networks" if method.paints_with_network else "the built-in styles"
            raise InputError(
                f"preserve_colour histogram recolours the style image, and {what} have none: "
                "use luminance, or method fast, adain or optimize with a style image"
            )
        mask_mode = checks.choice("mask_mode", options["mask_mode"])
        if mask_mode == "styles" and second is None:
            raise InputError(
                "mask_mode styles paints the mask's inside with style and its outside with "
                "second_style: set a second style"
            )
        return cls(
            style=first,
            second_style=second,
            style_blend=blend if second is not None and mask_mode == "strength" else 0.0,
            strength=checks.number("strength", strength),
            device=device,
            method=method.name,
            preserve_colour=colour,
            stroke_scale=checks.number("stroke_scale", options["stroke_scale"]),
            mask_mode=mask_mode,
            **cls._optimize_options(method, options),
        )

    @staticmethod
    def _styles(
        method: Method, style: object, second_style: object
    ) -> tuple[Style | StyleImage | TrainedFile, Style | StyleImage | None]:
        no_second = second_style is None or (isinstance(second_style, str) and second_style == "")
        if method.paints_with_network:
            if not no_second:
                raise InputError(
                    "second_style: a trained network paints one style (a second style is for "
                    "the other methods)"
                )
            return trained_file("style", style), None
        for name, value in (("style", style), ("second_style", second_style)):
            if is_trained_file(value):
                raise InputError(
                    f"{name}: {value} is a trained style; render it with method trained"
                )
        if not method.paints_with_image:
            for name, value in (("style", style), ("second_style", second_style)):
                if isinstance(value, (np.ndarray, StyleImage)) or (
                    value is not None
                    and value != ""
                    and not is_builtin_name(value)
                    and looks_like_file(value)
                ):
                    raise InputError(
                        f"{name}: the builtin method takes a built-in style name; for a style "
                        "image use method fast, adain or optimize"
                    )
            first: Style | StyleImage = builtin_style("style", style)
            second = None if no_second else builtin_style("second_style", second_style)
            return first, second
        for name, value in (("style", style), ("second_style", second_style)):
            if is_builtin_name(value) and not (isinstance(value, str) and looks_like_file(value)):
                raise InputError(
                    f"{name}: method {method.name} takes a style image (a file or an array), "
                    f"not the built-in style {value!r}; use method builtin for the built-in styles"
                )
        return style_image("style", style), (
            None if no_second else style_image("second_style", second_style)
        )

    @staticmethod
    def _optimize_options(method: Method, options: Mapping[str, Any]) -> dict[str, Any]:
        if method.reads.isdisjoint(_OPTIMIZE_ONLY):
            return {}  # None for the other methods, so equal settings give equal requests
        seed = 0 if options["seed"] is None else options["seed"]
        low, high = (int(v) for v in checks.hard_range("seed"))
        if isinstance(seed, bool) or not isinstance(seed, int) or not low <= seed <= high:
            raise InputError(f"seed must be an integer from {low} to 2**63 - 1, got {seed!r}")
        weight = options["style_weight"]
        steps = options["steps"]
        low, high = (int(v) for v in checks.hard_range("steps"))
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or not low <= steps <= high
        ):
            raise InputError(f"steps must be an integer from {low} to {high}, got {steps!r}")
        return {
            "seed": seed,
            "init": checks.choice("init", options["init"] or checks.default("init")),
            "quality": checks.choice("quality", options["quality"] or checks.default("quality")),
            "style_weight": None if weight is None else checks.number("style_weight", weight),
            "steps": steps,
            "working_resolution": None
            if options["working_resolution"] is None
            else checks.number("working_resolution", options["working_resolution"]),
        }

    @property
    def is_identity(self) -> bool:
        """True when a render returns its source unchanged (strength 0)."""
        return self.strength == 0.0

    def describe(self) -> dict[str, object]:
        """The settings as plain values, for log lines and metadata."""
        out: dict[str, object] = {"method": self.method, "style": _label(self.style)}
        if self.second_style is not None:
            out["second_style"] = _label(self.second_style)
            if self.mask_mode == "strength":
                out["style_blend"] = self.style_blend
        out["strength"] = self.strength
        for key in ("preserve_colour", "stroke_scale", "mask_mode"):
            if getattr(self, key) != checks.default(key):
                out[key] = getattr(self, key)
        for key in _OPTIMIZE_ONLY:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def default_method(style: object) -> str:
    """The method of a request that names none: a trained network for a ``.safetensors`` file,
    the fast arbitrary-style method for images and other paths, the built-in network for any
    other string (a typo then gets "did you mean")."""
    if is_trained_file(style):
        return "trained"
    image = isinstance(style, (np.ndarray, StyleImage)) or looks_like_file(style)
    return "fast" if image and not is_builtin_name(style) else "builtin"


def _label(style: object) -> str:
    if isinstance(style, (StyleImage, TrainedFile)):
        return style.label
    return str(getattr(style, "name", style))
