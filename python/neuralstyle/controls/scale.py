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
  downsampled, at full-render cost. The proxy frame is brought to the full size by
  :func:`upsample_consistent`, so that downsampling it gives the proxy back; what differs from
  the full render is only the detail the proxy frame does not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from torch import Tensor
from torch.nn.functional import interpolate

from neuralstyle.controls._checks import check_rgb
from neuralstyle.errors import InputError

__all__ = [
    "ProxyMode",
    "RenderScale",
    "StrokePlan",
    "check_frame_size",
    "frame_size_of",
    "is_render_of",
    "long_side_scale",
    "resize_image",
    "resize_long_side",
    "stroke_plan",
    "upsample_consistent",
]

ProxyMode = Literal["scaled", "exact"]

#: A render scale: one number, or ``(x, y)`` as OpenFX hosts give it. MLT rounds each side of a
#: proxy on its own: a 641x359 frame at preview scale 0.5 is 320x178, render scale
#: ``(320 / 641, 178 / 359) = (0.4992, 0.4958)``.
RenderScale = float | tuple[float, float]

#: Back-projection rounds of :func:`upsample_consistent`: the proxy SSIM of AdaIN at 512 px
#: (benchmarks/bm_methods.py --only proxy) gains 0.06 in 3 rounds and < 0.01 beyond.
BACK_PROJECTIONS = 4


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


def _per_axis(render_scale: RenderScale) -> tuple[float, float]:
    """``(y, x)`` scales, in the order of ``(H, W)`` sizes."""
    if isinstance(render_scale, tuple):
        return float(render_scale[1]), float(render_scale[0])
    return float(render_scale), float(render_scale)


def long_side_scale(render_scale: RenderScale, frame_size: tuple[int, int]) -> float:
    """The render scale of the frame's long side: the one number a stroke plan scales by (strokes
    are sized on the long side)."""
    sy, sx = _per_axis(render_scale)
    return sx if frame_size[1] >= frame_size[0] else sy


def frame_size_of(
    size: tuple[int, int], render_scale: RenderScale, frame_size: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The full-resolution ``(H, W)`` of which an image of ``size`` is the render at
    ``render_scale``: ``frame_size`` when given, else ``size / render_scale`` rounded (rows by the
    y scale, columns by the x scale).

    Why it matters: a proxy does not say its frame's size. A 1080x1919 frame at render scale
    0.5 is 540x960 (or 959), and so is a 1080x1920 one; a render at the wrong size is the full
    render stretched by a pixel, and the feed-forward networks and the optimisation draw their
    strokes somewhere else (proxy SSIM 0.93 -> 0.99 for the built-in styles at 512 px when the
    size is right). Hosts know it (OFX: the source clip's region of definition).

    Raises:
        InputError: ``frame_size`` is not two positive integers, or ``size`` is not its render
            at ``render_scale`` (more than a pixel off).
    """
    if frame_size is None:
        sy, sx = _per_axis(render_scale)
        return max(1, round(size[0] / sy)), max(1, round(size[1] / sx))
    frame = check_frame_size(frame_size)
    if not is_render_of(size, render_scale, frame):
        sy, sx = _per_axis(render_scale)
        scale = f"{sx:g}" if sx == sy else f"({sx:g}, {sy:g})"
        raise InputError(
            f"a {size[1]}x{size[0]} image is not a frame of {frame[1]}x{frame[0]} "
            f"at render scale {scale}"
        )
    return frame


def check_frame_size(frame_size: object) -> tuple[int, int]:
    """``frame_size`` as ``(H, W)``.

    Raises:
        InputError: not two positive integers.
    """
    if not (
        isinstance(frame_size, (tuple, list))
        and len(frame_size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in frame_size)
    ):
        raise InputError(f"frame_size must be (height, width) in pixels, got {frame_size!r}")
    return int(frame_size[0]), int(frame_size[1])


def is_render_of(
    size: tuple[int, int], render_scale: RenderScale, frame_size: tuple[int, int]
) -> bool:
    """Whether an image of ``size`` is a frame of ``frame_size`` at ``render_scale`` (hosts
    round the scaled sides either way: a pixel of slack)."""
    scales = _per_axis(render_scale)
    return all(abs(f * s - n) <= 1 for f, s, n in zip(frame_size, scales, size, strict=True))


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


def upsample_consistent(
    image: Tensor, size: tuple[int, int], rounds: int = BACK_PROJECTIONS
) -> Tensor:
    """Upsample so that area-downsampling the result gives ``image`` back: bicubic upsampling,
    then ``rounds`` of iterative back-projection (Irani & Peleg 1991), each adding the
    bicubic-upsampled residual between ``image`` and the downsampled estimate; clamped to
    [0, 1].

    Why: a feed-forward style network (the built-in one, the AdaIN decoder) reads edges and
    texture; plain bicubic upsampling of a proxy frame softens them and the network draws a
    softer picture than it does on the full frame. The back-projected frame keeps the proxy's
    contrast at the proxy's scale: the proxy SSIM of AdaIN to the downsampled full render rises
    from 0.88 to 0.94 at 512 px (coffee; benchmarks/RESULTS.md).

    Shape:
        - image: :math:`(N, C, h, w)`
        - output: :math:`(N, C, H, W)` with ``(H, W) = size`` at least ``(h, w)``
    """
    if image.dim() != 4:
        raise InputError(f"upsample_consistent: expected (N, C, H, W), got {tuple(image.shape)}")
    low = tuple(int(n) for n in image.shape[-2:])
    if size[0] < low[0] or size[1] < low[1]:
        raise InputError(f"upsample_consistent: {size} is smaller than the image's {low}")
    if tuple(size) == low:
        return image

    def up(x: Tensor) -> Tensor:
        return interpolate(x, size=size, mode="bicubic", align_corners=False)

    out = up(image)
    for _ in range(rounds):
        out = out + up(image - interpolate(out, size=low, mode="area"))
    return out.clamp(0.0, 1.0)
