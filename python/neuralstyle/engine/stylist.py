"""A request bound to a device: the one place that turns a :class:`StyleRequest` into a call of
its method (:mod:`neuralstyle.engine.methods`: built-in styles, AdaIN or optimisation) with the
controls wrapped around it.

Stroke scale and proxies (DESIGN decision 6): every method is told the full-resolution frame size
(the image size divided by the render scale), and :func:`neuralstyle.controls.stroke_plan` derives
the working size and the style image's size from it; the method says how it renders a proxy and
how stroke scale moves its working size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import Tensor

from neuralstyle.engine.device import resolve_device
from neuralstyle.engine.mask import at_working_size
from neuralstyle.engine.methods import method_for
from neuralstyle.engine.request import StyleRequest
from neuralstyle.engine.style_source import StyleImage, TrainedFile
from neuralstyle.errors import InputError
from neuralstyle.recent import Recent

if TYPE_CHECKING:
    from neuralstyle.controls.scale import RenderScale
    from neuralstyle.models.styles import Style

__all__ = ["Progress", "Stylist", "clear_cache"]

#: Progress callback: the fraction done in [0, 1]; it raises to abort the render.
Progress = Callable[[float], None]
_T = TypeVar("_T")

# Style images at their working size and their AdaIN statistics, shared by every Stylist of the
# process: a shot renders frame after frame with one style, through the node (one Stylist per
# instance) as through the API, the CLI and the farm (one per frame). A few entries: a style is
# a few MB at 4K.
_cache: Recent[Any] = Recent(8)


def _cached(key: Hashable, make: Callable[[], _T]) -> _T:
    value: _T = _cache.get_or_make(key, make)
    return value


def clear_cache() -> None:
    """Drop the cached style images and statistics (for ``purge_caches``)."""
    _cache.clear()


class Stylist:
    """A request bound to a device: the process-wide networks for that device, and this request's
    style weights, style images and style statistics, prepared once and reused for every frame.
    The device is resolved, and networks loaded, on first use, so a pass-through touches neither.

    Args:
        request: what to render.
        device: where to run; default: resolved from ``request.device``.

    Attributes:
        method: the request's :class:`~neuralstyle.engine.methods.Method`, which renders.

    Shape:
        - image: :math:`(3, H, W)` float32 RGB in [0, 1], display-referred, on :attr:`device`
        - regions: :math:`(H, W)` in [0, 1]: where ``style`` goes (``mask_mode="styles"``)
        - output: :math:`(3, H, W)` float32 in [0, 1]
    """

    def __init__(self, request: StyleRequest, device: torch.device | None = None) -> None:
        self.request = request
        self.method = method_for(request.method)
        self._device = device
        self._prepared: dict[Hashable, Any] = {}  # see prepared()

    @property
    def device(self) -> torch.device:
        """Raises DeviceError when the request names CUDA and there is none."""
        if self._device is None:
            self._device = resolve_device(self.request.device)
        return self._device

    @property
    def styles(self) -> list[Style | StyleImage | TrainedFile]:
        """The request's style, and its second style when there is one."""
        r = self.request
        return [r.style] if r.second_style is None else [r.style, r.second_style]

    @property
    def pixel_strength(self) -> float:
        """How much of the stylised picture the render mixes in: the request's strength, except
        for AdaIN, whose strength is the feature-space alpha, applied inside the method."""
        return self.method.pixel_strength(self.request.strength)

    def __call__(
        self,
        image: Tensor,
        *,
        render_scale: RenderScale = 1.0,
        frame_size: tuple[int, int] | None = None,
        regions: Tensor | None = None,
        progress: Progress | None = None,
        start: Tensor | None = None,
    ) -> Tensor:
        """Stylise ``image``, a frame of ``frame_size`` (default: its size over the render
        scale) rendered at ``render_scale`` of the full resolution (one number, or ``(x, y)``
        as an OpenFX host gives it); ``start``, like ``image``, is where a method that
        :attr:`~neuralstyle.engine.methods.Method.warm_starts` starts from.

        Raises:
            InputError: a ``start`` for a method that cannot start from one.
        """
        from neuralstyle.controls.scale import (
            frame_size_of,
            long_side_scale,
            resize_image,
            stroke_plan,
            upsample_consistent,
        )

        r = self.request
        size = (int(image.shape[1]), int(image.shape[2]))
        frame = frame_size_of(size, render_scale, frame_size)
        scale = long_side_scale(render_scale, frame)
        # A working resolution below 1 caps the pixels the method works on; stroke_plan then
        # shrinks the style with the frame, so strokes keep their size on the frame.
        cap = None
        if r.working_resolution is not None and r.working_resolution < 1.0:
            cap = max(1, round(r.working_resolution**2 * frame[0] * frame[1]))
        plan = stroke_plan(
            frame, scale, r.stroke_scale, proxy=self.method.proxy, max_working_pixels=cap
        )
        working = self.method.working_size(plan, r.stroke_scale)
        grows = working[0] >= size[0] and working[1] >= size[1]
        to_working = upsample_consistent if grows else resize_image
        x = to_working(image[None], working)
        masks = at_working_size(r.mask_mode, regions, working, x.dtype)
        warm: dict[str, Tensor] = {}
        if start is not None:
            if not self.method.warm_starts:
                raise InputError(f"method {r.method} cannot start from a picture")
            warm["start"] = to_working(start[None], working)
        out = self.method.render(
            self, x, plan=plan, frame=frame, masks=masks, progress=progress, **warm
        )
        return resize_image(out, size)[0]

    def prepared(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """``make()``, once per Stylist: what its method prepares once for the request (the
        built-in network's style weights) and reuses for every frame."""
        if key not in self._prepared:
            self._prepared[key] = make()
        return self._prepared[key]  # type: ignore[no-any-return]

    def cached(self, key: tuple[Hashable, ...], make: Callable[[], _T]) -> _T:
        """``make()``, shared by every Stylist of the process on this device (a few entries:
        style images and their statistics)."""
        return _cached((*key, str(self.device)), make)

    def style_images(self, long_side: int) -> tuple[list[Tensor], list[float]]:
        """The style images at ``long_side`` on the device, and their blend weights."""
        r = self.request
        tensors = [self._style_tensor(image, long_side) for image in self.styles]
        if r.second_style is None:
            return tensors, [1.0]
        if r.mask_mode == "styles":
            return tensors, [1.0, 1.0]
        return tensors, [1.0 - r.style_blend, r.style_blend]

    def _style_tensor(self, image: Style | StyleImage | TrainedFile, long_side: int) -> Tensor:
        from neuralstyle.controls.scale import resize_long_side

        if not isinstance(image, StyleImage):  # the request's checks make this unreachable
            raise InputError(f"method {self.request.method} needs a style image, got {image}")

        def make() -> Tensor:
            pixels = torch.from_numpy(image.pixels()).permute(2, 0, 1)[None]
            return resize_long_side(pixels.to(self.device), long_side)

        return self.cached(("image", image.key, long_side), make)
