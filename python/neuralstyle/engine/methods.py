"""The style-transfer methods as objects, one per value of the ``method`` parameter: what each one
reads, what it paints with, how it renders a proxy, and how it runs. The request
(:mod:`neuralstyle.engine.request`) asks them what to check and the stylist
(:mod:`neuralstyle.engine.stylist`) how to render; neither compares method names.

Proxies (DESIGN decision 6): the feed-forward methods paint strokes of a fixed size in working
pixels, so their proxies run at the full frame size and are downsampled (``exact``; the proxy
frame is upsampled by back-projection, which keeps its contrast; a half-size run is a different
drawing, SSIM 0.3-0.55 to the downsampled full render for the built-in styles, 0.09 for AdaIN);
optimisation runs the first levels of its own pyramid (``scaled``). For the built-in network,
stroke scale shrinks (or grows) the working size instead of a style image it does not have.

Nothing here imports torch at import time: the request imports this module inside hosts.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, cast

from neuralstyle.errors import InputError
from neuralstyle.params.table import ALL_METHODS, PARAMETERS, choice_values

if TYPE_CHECKING:
    from torch import Tensor

    from neuralstyle.controls.preserve_colour import ColourMode
    from neuralstyle.controls.scale import ProxyMode, StrokePlan
    from neuralstyle.engine.style_source import StyleImage
    from neuralstyle.engine.stylist import Progress, Stylist
    from neuralstyle.methods.adain import StyleStatistics

__all__ = ["AdaIN", "Builtin", "Fast", "Method", "Optimize", "Trained", "method_for"]


class Method(ABC):
    """One style-transfer method; :func:`method_for` gives the one instance of each.

    Attributes:
        name: the value of the ``method`` parameter.
        reads: the parameters it reads (``Param.methods`` in :mod:`neuralstyle.params.table`).
        paints_with_image: it paints with a style image (``style_file``), not a built-in style.
        paints_with_network: its ``style_file`` is a trained network (``neuralstyle train``),
            not an image.
        proxy: how it renders a proxy (:func:`neuralstyle.controls.scale.stroke_plan`; measured
            per method in benchmarks/bm_methods.py).
        colour_modes: the ``preserve_colour`` values it honours.
        reports_progress: it takes long enough to report progress (and to be stopped).
        strokes_in_working_pixels: its network paints strokes of a fixed size in working pixels
            and sees no style image it could scale (the built-in network; fast's predictor sees
            every style at its trained size), so stroke scale moves the working size instead.
        warm_starts: its render takes ``start=``, a picture to start from (optimisation: a
            shot's previous frame, moved onto this one; :mod:`neuralstyle.temporal.window`).
        temporal_weight: how much of the window's consolidated picture a Stability amount of 1
            mixes into the frame's own render (:func:`neuralstyle.temporal.window.steady`).
    """

    name: ClassVar[str]
    proxy: ClassVar[ProxyMode]
    reports_progress: ClassVar[bool] = False
    strokes_in_working_pixels: ClassVar[bool] = False
    warm_starts: ClassVar[bool] = False
    temporal_weight: ClassVar[float] = 1.0
    paints_with_network: ClassVar[bool] = False
    colour_modes: ClassVar[tuple[str, ...]] = choice_values("preserve_colour")

    def __init__(self) -> None:
        self.reads = frozenset(p.name for p in PARAMETERS if self.name in p.methods)
        self.paints_with_image = "style_file" in self.reads and not self.paints_with_network

    def __repr__(self) -> str:
        return f"method_for({self.name!r})"

    def pixel_strength(self, strength: float) -> float:
        """How much of the stylised picture the render mixes in, for the request's strength."""
        return strength

    def working_size(self, plan: StrokePlan, stroke_scale: float) -> tuple[int, int]:
        """``(H, W)`` at which the method runs, for the plan of the frame."""
        if not self.strokes_in_working_pixels:
            return plan.working_size
        h, w = plan.working_size
        return max(1, round(h / stroke_scale)), max(1, round(w / stroke_scale))

    @abstractmethod
    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        """Stylise ``x``, :math:`(1, 3, H, W)` at the working size, for ``stylist``'s request on
        its device; ``frame`` is the full-resolution frame size, ``masks`` the inside and
        outside of the mask when it chooses the styles. Returns :math:`(1, 3, H, W)` in [0, 1]."""


class Builtin(Method):
    """The 26 built-in styles: one conditional instance-norm network, feed-forward."""

    name = "builtin"
    proxy = "exact"
    strokes_in_working_pixels = True
    # histogram recolours the style image, and the built-in styles have none
    colour_modes = ("none", "luminance")

    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        from neuralstyle.controls.preserve_colour import finish_colour, prepare_colour
        from neuralstyle.methods.builtin import load_builtin
        from neuralstyle.models.styles import style_weights

        r = stylist.request
        model = load_builtin(stylist.device)

        def make() -> list[Tensor]:
            # Two styles by mask: one network pass per style, mixed by the mask; otherwise one
            # pass with the CIN parameters mixed.
            mixes = (
                [(s, None, 0.0) for s in stylist.styles]
                if masks is not None
                else [(r.style, r.second_style, r.style_blend)]
            )
            return [style_weights(*m).to(stylist.device) for m in mixes]  # type: ignore[arg-type]

        weights: list[Tensor] = stylist.prepared("builtin weights", make)
        colour = cast("ColourMode", r.preserve_colour)
        content, _ = prepare_colour(x, [], colour)
        passes = [model(content, w) for w in weights]
        styled = passes[0] if masks is None else masks[0] * passes[0] + masks[1] * passes[1]
        out: Tensor = finish_colour(styled, x, colour)
        return out


class AdaIN(Method):
    """Any style image in one pass (Huang & Belongie 2017)."""

    name = "adain"
    proxy = "exact"

    def pixel_strength(self, strength: float) -> float:
        # The strength is the feature-space alpha, applied inside the method.
        return 1.0

    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        from neuralstyle.methods.adain import load_adain

        r = stylist.request
        model = load_adain(stylist.device)
        images, weights = stylist.style_images(plan.style_long_side)
        styles: list[Tensor | StyleStatistics] = list(images)
        if r.preserve_colour == "none":  # otherwise the styles are recoloured to each frame
            for i, (source, image) in enumerate(zip(stylist.styles, images, strict=True)):
                key = ("adain", cast("StyleImage", source).key, plan.style_long_side)
                styles[i] = stylist.cached(key, functools.partial(model.style_statistics, image))
        out: Tensor = model.stylize(
            x,
            styles,
            alpha=r.strength,
            style_weights=weights,
            masks=masks,
            preserve_colour=r.preserve_colour,  # type: ignore[arg-type]
        )
        return out


class Optimize(Method):
    """Any style image, optimised per frame (Gatys et al. 2016); slow, reports progress."""

    name = "optimize"
    proxy = "scaled"
    reports_progress = True
    warm_starts = True

    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
        start: Tensor | None = None,
    ) -> Tensor:
        import torch

        from neuralstyle.controls.scale import stroke_plan
        from neuralstyle.methods.optimize import (
            OptimizeProgress,
            OptimizeSettings,
            stylize_optimize,
        )

        r = stylist.request
        overrides: dict[str, object] = {"seed": r.seed, "init": r.init}
        if r.style_weight is not None:
            overrides["style_weight"] = r.style_weight
        if r.steps is not None:
            overrides["steps"] = r.steps
        settings = OptimizeSettings.for_quality(r.quality or "standard", **overrides)  # type: ignore[arg-type]
        callback = None
        if progress is not None:
            report = progress

            def callback(p: OptimizeProgress) -> None:
                report(p.done)

        # The styles at the full render's size, whatever the render scale: each pyramid level,
        # the proxy's as the full render's, resizes those same pixels (stylize_optimize).
        full_size = stroke_plan(frame, 1.0, r.stroke_scale).style_long_side
        # The render runs in inference mode; the optimisation needs autograd, and tensors of its
        # own (inference tensors cannot be saved for the backward pass).
        with torch.inference_mode(False), torch.enable_grad():
            images, weights = stylist.style_images(full_size)
            out: Tensor = stylize_optimize(
                x.clone(),
                [s.clone() for s in images],
                style_weights=weights,
                masks=None if masks is None else [m.clone() for m in masks],
                settings=settings,
                preserve_colour=r.preserve_colour,  # type: ignore[arg-type]
                callback=callback,
                style_long_side=plan.style_long_side,
                start=None if start is None else start.clone(),
            )
        return out


class Fast(Method):
    """Any style image in one pass, with a network trained for it (Ghiasi et al. 2017)."""

    name = "fast"
    proxy = "exact"
    strokes_in_working_pixels = True
    # Its frames are 4-9x steadier on their own than the built-in network's (warping error on
    # the synthetic pans 0.0077 against 0.030-0.071), and the window's mean loses its painting's
    # texture first: with all of it the distance to the painting rose 13 % on the pans. At 0.7,
    # on all five bm_temporal clips: warping error 0.31-0.46x of per-frame, distance to the
    # painting +0.1-9.5 %, sharpness 0.95-1.00x (benchmarks/RESULTS.md, bm_temporal).
    temporal_weight = 0.7

    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        from neuralstyle.controls.preserve_colour import finish_colour, prepare_colour
        from neuralstyle.methods.fast import STYLE_SIDE, load_fast

        r = stylist.request
        model = load_fast(stylist.device)
        colour = cast("ColourMode", r.preserve_colour)
        images, weights = stylist.style_images(STYLE_SIDE)
        content, prepared = prepare_colour(x, images, colour)
        vectors = []
        for source, image in zip(stylist.styles, prepared, strict=True):
            if colour == "none":  # otherwise each style is recoloured to the frame
                key = ("fast", cast("StyleImage", source).key)
                vectors.append(stylist.cached(key, functools.partial(model.style_vector, image)))
            else:
                vectors.append(model.style_vector(image))
        out = model.stylize(
            content, vectors, strength=r.strength, style_weights=weights, masks=masks
        )
        finished: Tensor = finish_colour(out, x, colour)
        return finished


class Trained(Method):
    """A style trained for one painting (``neuralstyle train``): the built-in styles' network
    with the trained file's weights, feed-forward, through the same compiled path."""

    name = "trained"
    proxy = "exact"
    strokes_in_working_pixels = True
    paints_with_network = True
    # as for the built-in styles: no style image to recolour
    colour_modes = ("none", "luminance")

    def render(
        self,
        stylist: Stylist,
        x: Tensor,
        *,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        from neuralstyle.controls.preserve_colour import finish_colour, prepare_colour
        from neuralstyle.engine.style_source import TrainedFile
        from neuralstyle.methods.trained import load_trained

        style = cast("TrainedFile", stylist.request.style)
        model = load_trained(style.key, style.path, stylist.device)
        colour = cast("ColourMode", stylist.request.preserve_colour)
        content, _ = prepare_colour(x, [], colour)
        out: Tensor = finish_colour(model(content), x, colour)
        return out


_METHODS: dict[str, Method] = {
    m.name: m for m in (Builtin(), AdaIN(), Optimize(), Fast(), Trained())
}


def method_for(name: object) -> Method:
    """The method called ``name``.

    Raises:
        InputError: ``name`` is not one of :data:`~neuralstyle.params.table.ALL_METHODS`.
    """
    if not isinstance(name, str) or name not in _METHODS:
        raise InputError(f"method must be one of {', '.join(ALL_METHODS)}, got {name!r}")
    return _METHODS[name]
