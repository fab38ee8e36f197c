"""A request bound to a device: the one place that turns a :class:`StyleRequest` into a call of
its method (built-in styles, AdaIN or optimisation) with the controls wrapped around it.

Stroke scale and proxies (DESIGN decision 6): every method is told the full-resolution frame size
(the image size divided by the render scale), and :func:`neuralstyle.controls.stroke_plan` derives
the working size and the style image's size from it. The feed-forward methods paint strokes of a
fixed size in working pixels, so their proxies run at the full frame size and are downsampled
(``exact``; the proxy frame is upsampled by back-projection, which keeps its contrast; a
half-size run is a different drawing, SSIM 0.3-0.55 to the downsampled full render for the
built-in styles, 0.09 for AdaIN); optimisation runs the first levels of its own pyramid
(``scaled``). For the built-in network, stroke scale shrinks (or grows) the working size instead
of a style image it does not have.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import Tensor

from neuralstyle.engine.device import resolve_device
from neuralstyle.engine.request import StyleImage, StyleRequest
from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from neuralstyle.controls.colour import ColourMode
    from neuralstyle.controls.scale import ProxyMode, RenderScale, StrokePlan
    from neuralstyle.methods.adain import StyleStatistics
    from neuralstyle.models.styles import Style

__all__ = ["PROXY_MODES", "Progress", "Stylist", "clear_cache"]

#: Progress callback: the fraction done in [0, 1]; it raises to abort the render.
Progress = Callable[[float], None]
#: How each method renders a proxy (see the module docstring; measured in benchmarks/bm_methods.py).
PROXY_MODES: dict[str, ProxyMode] = {"builtin": "exact", "adain": "exact", "optimize": "scaled"}

# Style images at their working size and their AdaIN statistics, shared by every Stylist of the
# process: a shot renders frame after frame with one style, through the node (one Stylist per
# instance) as through the API, the CLI and the farm (one per frame). A few entries: a style is
# a few MB at 4K.
_CACHE_SIZE = 8
_cache: OrderedDict[Hashable, Any] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: Hashable, make: Callable[[], Any]) -> Any:
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = make()  # outside the lock: encoding a style takes a while
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def clear_cache() -> None:
    """Drop the cached style images and statistics (for ``purge_caches``)."""
    with _cache_lock:
        _cache.clear()


class Stylist:
    """A request bound to a device: the process-wide networks for that device, and this request's
    style weights, style images and style statistics, prepared once and reused for every frame.
    The device is resolved, and networks loaded, on first use, so a pass-through touches neither.

    Args:
        request: what to render.
        device: where to run; default: resolved from ``request.device``.

    Shape:
        - image: :math:`(3, H, W)` float32 RGB in [0, 1], display-referred, on :attr:`device`
        - regions: :math:`(H, W)` in [0, 1]: where ``style`` goes (``mask_mode="styles"``)
        - output: :math:`(3, H, W)` float32 in [0, 1]
    """

    def __init__(self, request: StyleRequest, device: torch.device | None = None) -> None:
        self.request = request
        self._device = device
        self._weights: list[Tensor] | None = None  # the built-in network's, on the device

    @property
    def device(self) -> torch.device:
        """Raises DeviceError when the request names CUDA and there is none."""
        if self._device is None:
            self._device = resolve_device(self.request.device)
        return self._device

    @property
    def styles(self) -> list[Style | StyleImage]:
        """The request's style, and its second style when there is one."""
        r = self.request
        return [r.style] if r.second_style is None else [r.style, r.second_style]

    @property
    def pixel_strength(self) -> float:
        """How much of the stylised picture the render mixes in: the request's strength, except
        for AdaIN, whose strength is the feature-space alpha, applied inside the method."""
        return 1.0 if self.request.method == "adain" else self.request.strength

    def __call__(
        self,
        image: Tensor,
        *,
        render_scale: RenderScale = 1.0,
        frame_size: tuple[int, int] | None = None,
        regions: Tensor | None = None,
        progress: Progress | None = None,
    ) -> Tensor:
        """Stylise ``image``, a frame of ``frame_size`` (default: its size over the render
        scale) rendered at ``render_scale`` of the full resolution (one number, or ``(x, y)``
        as an OpenFX host gives it)."""
        from neuralstyle.controls.scale import (
            frame_size_of,
            long_side_scale,
            resize_image,
            stroke_plan,
            upsample_consistent,
        )

        r = self.request
        if r.mask_mode == "styles" and regions is None:
            raise InputError(
                "mask mode styles chooses the style by the mask: connect a mask (1: style, "
                "0: second style)"
            )
        size = (int(image.shape[1]), int(image.shape[2]))
        frame = frame_size_of(size, render_scale, frame_size)
        scale = long_side_scale(render_scale, frame)
        plan = stroke_plan(frame, scale, r.stroke_scale, proxy=PROXY_MODES[r.method])
        if r.method == "builtin":
            # The network has no style image to scale: its strokes scale with the working size.
            s = r.stroke_scale
            plan_size = plan.working_size
            working = (max(1, round(plan_size[0] / s)), max(1, round(plan_size[1] / s)))
        else:
            working = plan.working_size
        grows = working[0] >= size[0] and working[1] >= size[1]
        x = (
            upsample_consistent(image[None], working)
            if grows
            else resize_image(image[None], working)
        )
        masks = None
        if regions is not None and r.mask_mode == "styles":
            from neuralstyle.controls.spatial import inside_outside, resize_mask

            masks = inside_outside(resize_mask(regions[None, None].to(x.dtype), working))
        if r.method == "builtin":
            out = self._builtin(x, masks)
        elif r.method == "adain":
            out = self._adain(x, plan, masks)
        else:
            out = self._optimize(x, plan, frame, masks, progress)
        return resize_image(out, size)[0]

    def _builtin(self, x: Tensor, masks: list[Tensor] | None) -> Tensor:
        from neuralstyle.controls.colour import finish_colour, prepare_colour
        from neuralstyle.methods.builtin import load_builtin
        from neuralstyle.models.styles import style_weights

        r = self.request
        model = load_builtin(self.device)
        if self._weights is None:
            # Two styles by mask: one network pass per style, mixed by the mask; otherwise one
            # pass with the CIN parameters mixed.
            mixes = (
                [(s, None, 0.0) for s in self.styles]
                if masks is not None
                else [(r.style, r.second_style, r.style_blend)]
            )
            self._weights = [style_weights(*m).to(self.device) for m in mixes]  # type: ignore[arg-type]
        colour = cast("ColourMode", r.preserve_colour)
        content, _ = prepare_colour(x, [], colour)
        passes = [model(content, w) for w in self._weights]
        styled = passes[0] if masks is None else masks[0] * passes[0] + masks[1] * passes[1]
        out: Tensor = finish_colour(styled, x, colour)
        return out

    def _styles(self, long_side: int) -> tuple[list[Tensor], list[float]]:
        """The style images at ``long_side`` on the device, and their blend weights."""
        r = self.request
        tensors = [self._style_tensor(image, long_side) for image in self.styles]
        if r.second_style is None:
            return tensors, [1.0]
        if r.mask_mode == "styles":
            return tensors, [1.0, 1.0]
        return tensors, [1.0 - r.style_blend, r.style_blend]

    def _style_tensor(self, image: Style | StyleImage, long_side: int) -> Tensor:
        from neuralstyle.controls.scale import resize_long_side

        if not isinstance(image, StyleImage):  # the request's checks make this unreachable
            raise InputError(f"method {self.request.method} needs a style image, got {image}")

        def make() -> Tensor:
            pixels = torch.from_numpy(image.pixels()).permute(2, 0, 1)[None]
            return resize_long_side(pixels.to(self.device), long_side)

        tensor: Tensor = _cached(("image", image.key, long_side, str(self.device)), make)
        return tensor

    def _adain(self, x: Tensor, plan: StrokePlan, masks: list[Tensor] | None) -> Tensor:
        from neuralstyle.methods.adain import load_adain

        r = self.request
        model = load_adain(self.device)
        images, weights = self._styles(plan.style_long_side)
        styles: list[Tensor | StyleStatistics] = list(images)
        if r.preserve_colour == "none":  # otherwise the styles are recoloured to each frame
            for i, (source, image) in enumerate(zip(self.styles, images, strict=True)):
                key = (
                    "adain",
                    cast("StyleImage", source).key,
                    plan.style_long_side,
                    str(self.device),
                )
                styles[i] = _cached(key, functools.partial(model.style_statistics, image))
        out: Tensor = model.stylize(
            x,
            styles,
            alpha=r.strength,
            style_weights=weights,
            masks=masks,
            preserve_colour=r.preserve_colour,  # type: ignore[arg-type]
        )
        return out

    def _optimize(
        self,
        x: Tensor,
        plan: StrokePlan,
        frame: tuple[int, int],
        masks: list[Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        from neuralstyle.controls.scale import stroke_plan
        from neuralstyle.methods.optimize import (
            OptimizeProgress,
            OptimizeSettings,
            stylize_optimize,
        )

        r = self.request
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
                # L-BFGS's last line search may overrun a level's budget by a few evaluations
                done = p.level * p.steps + min(p.step, p.steps)
                report(done / (p.levels * p.steps))

        # The styles at the full render's size, whatever the render scale: each pyramid level,
        # the proxy's as the full render's, resizes those same pixels (stylize_optimize).
        full_size = stroke_plan(frame, 1.0, r.stroke_scale).style_long_side
        # The render runs in inference mode; the optimisation needs autograd, and tensors of its
        # own (inference tensors cannot be saved for the backward pass).
        with torch.inference_mode(False), torch.enable_grad():
            images, weights = self._styles(full_size)
            out = stylize_optimize(
                x.clone(),
                [s.clone() for s in images],
                style_weights=weights,
                masks=None if masks is None else [m.clone() for m in masks],
                settings=settings,
                preserve_colour=r.preserve_colour,  # type: ignore[arg-type]
                callback=callback,
                style_long_side=plan.style_long_side,
            )
        return out
