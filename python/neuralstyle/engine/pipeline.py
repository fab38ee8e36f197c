"""The render: colour in, stylise, colour out, strength and mask, written once into the output.

The plugin (:mod:`neuralstyle.host`), the Python API and the CLI all end in :func:`render_frame`,
so equal settings give equal bits whichever of them asked.

Per pixel, with ``x`` the source in its own units (scene-linear float, or display-referred
integers), ``a`` its alpha and ``w = strength * mask`` (``w = mask`` for AdaIN, whose strength
acts in feature space inside the method)::

    u      = x / a                          # unpremultiply (premultiplied RGBA only)
    c      = clip(u / full_scale, 0, 1)     # what the network can see
    styled = decode(net(encode(c)))         # sRGB encode/decode for scene-linear floats only
    out    = x + a * w * full_scale * (styled - c)

which is ``premultiply(u + w * (styled_u - u))`` with ``styled_u = styled + (u - c)``: the part of
the source the network cannot see (values above 1, negatives) is kept, and alpha passes through
untouched. In premultiplied RGBA, pixels whose alpha is 0 are left exactly as they are (``w = 0``):
stylising them would put texture into the transparent surround of an element, which a merge then
adds over the background. Integer results are rounded once; half results are rounded once to
float16.

In RGBA (premultiplied or straight), ``c`` is first filled where alpha is (nearly) 0 from the
colour around it (:func:`~neuralstyle.engine.edge_extend.edge_extend`, in the encoding the network
sees), so the network sees no edge at the matte: the black (0/0) surround of a cut-out otherwise
left a pale rim 3-8 px wide inside its edge. Pixels with alpha >= ``TRUSTED_ALPHA`` (1/16) keep
their colour; images without alpha, or with alpha >= 1/16 everywhere, render as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from neuralstyle.engine import determinism, frame_arena
from neuralstyle.engine.device import device_errors
from neuralstyle.engine.edge_extend import TRUSTED_ALPHA, edge_extend
from neuralstyle.engine.mask import MaskUse, read_mask
from neuralstyle.engine.pixels import Pixels, Rect, check_finite
from neuralstyle.engine.stylist import Progress, Stylist
from neuralstyle.errors import InputError
from neuralstyle.pixel_encoding import (
    alpha_divisor,
    full_scale,
    is_float,
    srgb_decode,
    srgb_encode,
)

if TYPE_CHECKING:
    from neuralstyle.controls.scale import RenderScale

__all__ = ["place", "render_frame"]


def render_frame(
    src: Pixels,
    src_rect: Rect,
    dst: Pixels,
    dst_rect: Rect,
    stylist: Stylist,
    *,
    premultiplied: bool,
    mask: Pixels | None = None,
    mask_rect: Rect | None = None,
    render_scale: RenderScale = 1.0,
    frame_size: tuple[int, int] | None = None,
    progress: Progress | None = None,
    scene_linear: bool = True,
    start: Pixels | None = None,
) -> None:
    """Fill ``dst`` with the stylised ``src``.

    Rectangles place the images in one upright canvas. ``dst`` (the render window) is written once,
    completely: where it lies outside ``src`` it becomes 0. The network sees all of ``src``, so a
    window gives the same pixels as the same part of a full render. ``mask`` (last channel; 0
    keeps the source) counts as 0 outside ``mask_rect``; with the request's ``mask_mode``
    ``"styles"`` it chooses the style instead (1: ``style``, 0: ``second_style``).
    ``render_scale`` says which fraction of the full resolution ``src`` is (a proxy; one number
    or ``(x, y)``), so strokes keep their size on the frame; ``frame_size``, when known, is
    ``src``'s size at full resolution (:func:`~neuralstyle.controls.frame_size_of`);
    ``progress`` is told the fraction done (and raises to abort). Float pixels are scene-linear,
    or with ``scene_linear=False`` display-referred (sRGB-encoded, as integer pixels always are;
    the API's ``colour="srgb"``). ``start``, a picture like ``src`` (same size and units), is
    where optimisation starts from (a warm start: :mod:`neuralstyle.temporal.window`).

    A strength of 0, an all-zero mask over the window or an alpha-only image copy the source
    without arithmetic (bit-exact).

    Raises:
        InputError: a NaN or infinite value in the float source or the mask.
        DeviceError: the device ran out of memory.
        ModelError: the network's weights are missing or corrupt.
    """
    if start is not None and (start.shape, start.dtype) != (src.shape, src.dtype):
        raise InputError(
            f"start must be a picture like the source: {src.shape} {src.dtype}, "
            f"got {start.shape} {start.dtype}"
        )
    inside = _zero_outside(src_rect, dst, dst_rect)
    if inside.empty:
        return
    out_view = dst.view(inside.within(dst_rect))
    src_view = src.view(inside.within(src_rect))
    if src.shape[2] == 1 or stylist.request.is_identity:
        out_view.copy_from(src_view)
        return

    device = stylist.device
    determinism.ensure()
    with device_errors(device), torch.inference_mode(), frame_arena.frame():
        use = MaskUse()
        if mask is not None and mask_rect is not None:
            mode = stylist.request.mask_mode
            use = read_mask(mask, mask_rect, mode, source=src_rect, window=inside, device=device)
            if use.weight is not None and not bool(use.weight.any()):
                out_view.copy_from(src_view)
                return
        source = src.to_planar(device)
        if is_float(src.dtype):
            check_finite(source, "image")

        first = None if start is None else start.to_planar(device)

        def stylise(image: Tensor, begin: Tensor | None) -> Tensor:
            return stylist(
                image,
                render_scale=render_scale,
                frame_size=frame_size,
                regions=use.regions,
                progress=progress,
                start=begin,
            )

        out = _stylise(
            source,
            first,
            inside.within(src_rect),
            stylise,
            strength=stylist.pixel_strength,
            dtype=src.dtype,
            linear=scene_linear and is_float(src.dtype),
            premultiplied=premultiplied,
            weight=use.weight,
        )
        out_view.write(out)


def place(frame: Pixels, frame_rect: Rect, dst: Pixels, dst_rect: Rect) -> None:
    """Fill ``dst`` (at ``dst_rect``) from ``frame`` (CPU pixels at ``frame_rect``): 0 outside
    ``frame``, as :func:`render_frame` writes a window."""
    inside = _zero_outside(frame_rect, dst, dst_rect)
    if inside.empty:
        return
    part = frame.view(inside.within(frame_rect))
    target = dst.view(inside.within(dst_rect))
    if type(target) is type(part):
        target.copy_from(part)
    else:  # CUDA output memory
        target.write(part.to_planar(torch.device("cpu")))


def _zero_outside(src_rect: Rect, dst: Pixels, dst_rect: Rect) -> Rect:
    """Zero the parts of ``dst`` outside ``src_rect``; returns the part inside."""
    inside = dst_rect.intersect(src_rect)
    for band in dst_rect.bands_outside(inside):
        dst.view(band.within(dst_rect)).fill_zero()
    return inside


def _stylise(
    x: Tensor,
    start: Tensor | None,
    region: Rect,
    stylist: Callable[[Tensor, Tensor | None], Tensor],
    *,
    strength: float,
    dtype: np.dtype,
    linear: bool,
    premultiplied: bool,
    weight: Tensor | None,
) -> Tensor:
    """The formula in the module docstring; returns ``(C, h, w)`` for ``region`` of ``x``.
    ``start`` (planar like ``x``) is seen by the network as ``x`` is, unmatted."""
    scale = full_scale(dtype)
    rgb = x[:3]
    alpha = x[3] / scale if x.shape[0] == 4 else None
    divisor = alpha_divisor(alpha) if premultiplied and alpha is not None else None

    def seen_by_network(colour: Tensor) -> tuple[Tensor, Tensor]:
        straight = colour / divisor if divisor is not None else colour
        seen = (straight / scale if scale != 1.0 else straight).clamp(0.0, 1.0)
        return seen, srgb_encode(seen) if linear else seen

    seen, network_in = seen_by_network(rgb)
    if alpha is not None and bool((alpha < TRUSTED_ALPHA).any()):
        # No matte edge for the network to see; filled in the encoding it works in (a fill
        # averaged in linear light leaves a darker rim: benchmarks/RESULTS.md, "Matte edges").
        network_in = edge_extend(network_in, alpha)
        seen = srgb_decode(network_in) if linear else network_in
    styled = stylist(network_in, None if start is None else seen_by_network(start[:3])[1])
    if linear:
        styled = srgb_decode(styled)

    rows, cols = slice(region.top, region.bottom), slice(region.left, region.right)
    if divisor is not None:
        opaque = (x[3, rows, cols] > 0).to(torch.float32)
        weight = opaque if weight is None else weight * opaque
    base = rgb[:, rows, cols]
    step = (styled[:, rows, cols] - seen[:, rows, cols]) * (strength * scale)
    if divisor is not None:
        step = step * divisor[rows, cols]
    if weight is not None:
        step = step * weight
    out = base + step
    if weight is not None:
        out = torch.where(weight > 0, out, base)  # untouched where the mask is 0, even -0.0
    if not is_float(dtype):
        out = out.round().clamp(0.0, scale)
    if x.shape[0] == 4:
        out = torch.cat([out, x[3:, rows, cols]])
    return out
