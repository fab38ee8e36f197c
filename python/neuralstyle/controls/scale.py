"""Stroke scale relative to the full-resolution frame, so a proxy render looks like the full
render downsampled (DESIGN decision 6).

Style-transfer networks paint strokes of a fixed size *in pixels* of the image they see: the
VGG receptive fields and the style image's own texture scale. Two things therefore fix the
stroke size relative to the frame: the working resolution and the style image's size in working
pixels. :func:`stroke_plan` derives both from the full frame:

- At ``stroke_scale`` 1 the style image is resized so its long side equals the full frame's long
  side (the painting covers the frame); ``stroke_scale`` 2 doubles its size, so strokes are twice
  as large on the frame.
- ``proxy="scaled"`` (cheap): at render scale ``r`` the method runs at ``r`` times the frame and
  the style image is scaled by ``r`` too. Content and style keep their ratio, so the strokes keep
  their size relative to the frame; the residual difference to the full render is how far the
  network's features are from scale-covariant (measured per method in benchmarks/bm_methods.py).
- ``proxy="exact"``: the method runs at the full frame size whatever ``r`` is and the result is
  downsampled: identical to the full render downsampled, at full-render cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from torch import Tensor
from torch.nn.functional import interpolate

from neuralstyle.controls._checks import check_rgb
from neuralstyle.errors import InputError

__all__ = ["ProxyMode", "StrokePlan", "resize_image", "resize_long_side", "stroke_plan"]

ProxyMode = Literal["scaled", "exact"]


@dataclass(frozen=True)
class StrokePlan:
    """Sizes for one render.

    Attributes:
        working_size: ``(H, W)`` at which the method runs.
        style_long_side: long side, in working pixels, to resize the style image(s) to.
        output_size: ``(H, W)`` of the result the host asked for (frame size times render scale).
    """

    working_size: tuple[int, int]
    style_long_side: int
    output_size: tuple[int, int]


def _scaled(size: tuple[int, int], s: float) -> tuple[int, int]:
    return max(1, round(size[0] * s)), max(1, round(size[1] * s))


def stroke_plan(
    frame_size: tuple[int, int],
    render_scale: float = 1.0,
    stroke_scale: float = 1.0,
    *,
    proxy: ProxyMode = "scaled",
    max_working_pixels: int | None = None,
) -> StrokePlan:
    """Working resolution and style size for a render of a frame at ``render_scale``.

    Args:
        frame_size: ``(H, W)`` of the full-resolution frame (render scale 1).
        render_scale: the host's render scale in (0, 1] (0.5 for a half-resolution proxy).
        stroke_scale: stroke size relative to the frame (1: the style image covers the frame).
        proxy: ``"scaled"`` or ``"exact"`` (see the module docstring).
        max_working_pixels: a cap on ``H * W`` at the working resolution (memory); when it
            binds, working size and style size shrink together, which keeps the strokes'
            size relative to the frame (as a proxy would).

    Raises:
        InputError: a non-positive size or scale, or an unknown proxy mode.
    """
    h, w = frame_size
    if h < 1 or w < 1:
        raise InputError(f"stroke_plan: expected a positive frame size, got {frame_size}")
    for name, v in (("render_scale", render_scale), ("stroke_scale", stroke_scale)):
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"stroke_plan: expected {name} > 0, got {v}")
    if proxy not in get_args(ProxyMode):
        raise InputError(
            f"stroke_plan: unknown proxy mode {proxy!r}; expected {get_args(ProxyMode)}"
        )
    output = _scaled(frame_size, render_scale)
    work_scale = 1.0 if proxy == "exact" else render_scale
    if max_working_pixels is not None:
        if max_working_pixels < 1:
            raise InputError(
                f"stroke_plan: max_working_pixels must be >= 1, got {max_working_pixels}"
            )
        work_scale = min(work_scale, math.sqrt(max_working_pixels / (h * w)))
    working = _scaled(frame_size, work_scale)
    style_long = max(1, round(stroke_scale * max(h, w) * work_scale))
    return StrokePlan(working, style_long, output)


def resize_image(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize for style transfer: area averaging when shrinking (no aliasing), bicubic when
    growing; clamped to [0, 1].

    Shape:
        - image: :math:`(N, C, H, W)`
        - output: :math:`(N, C, h, w)` with ``(h, w) = size``
    """
    if image.dim() != 4:
        raise InputError(f"resize_image: expected (N, C, H, W), got {tuple(image.shape)}")
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    if size[0] <= image.shape[2] and size[1] <= image.shape[3]:
        out = interpolate(image, size=size, mode="area")
    else:
        out = interpolate(image, size=size, mode="bicubic", align_corners=False)
    return out.clamp(0.0, 1.0)


def resize_long_side(image: Tensor, long_side: int) -> Tensor:
    """Resize keeping the aspect ratio so that the longer side is ``long_side``.

    Shape:
        - image: :math:`(N, 3, H, W)`
        - output: :math:`(N, 3, h, w)` with :math:`\\max(h, w)` = ``long_side``
    """
    check_rgb("resize_long_side", "image", image)
    h, w = image.shape[-2:]
    s = long_side / max(h, w)
    return resize_image(image, _scaled((h, w), s))
