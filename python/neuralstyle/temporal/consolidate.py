"""Windowed, flow-guided consolidation: a frame's output from the stylised frames around it.

Frame t's output is the confidence-weighted mean of the stylised frames t-K..t+K, each warped into
frame t by the optical flow between the *source* frames (never the stylised ones), then mixed with
frame t's own stylisation by the amount. It depends on a fixed window of source frames only, so
any frame renders alone, in any chunk, on any machine, to the same bits (the flow and the
stylisation are deterministic in the strict profile).

Weights: ``exp(-k^2 / (2 sigma^2))`` for a neighbour k frames away (sigma = K / 2, at least 1),
times the flow's confidence at each pixel (0 where the forward-backward check fails: occlusions
and disocclusions, and on motion boundaries, so a moving object leaves no ghost) and whether the
warped point lies inside the neighbour. The frame's own stylisation always counts with weight 1,
so where no neighbour is trusted the output is the frame's own.

Detail kept (:func:`keep_detail`): the networks redraw their strokes every frame, so a mean of
five warped frames averages five different strokes. It is steady but soft (sharpness 0.62-0.84x
of the per-frame render on a pan). The mean's detail (what a blur of about :data:`DETAIL_SIGMA`
removes) is therefore scaled back up to the local detail energy of the frame's own stylisation
(energies averaged over neighbourhoods of about 6 px, :data:`ENERGY_SCALE`; gain 1 to
:data:`MAX_GAIN`). The mean's detail is steady from frame to frame, and so is its amplified
version: on a pan and on bikes.mp4, warping error 0.16-0.29x and sharpness 0.95-0.98x of the
per-frame render, against 0.09-0.15x and 0.62-0.94x for the mean alone (benchmarks/RESULTS.md,
"bm_temporal"). Where the neighbours agree (a static or well-tracked picture) the gain is 1 and
nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  # torch's own spelling

from neuralstyle.errors import InputError
from neuralstyle.pixel_encoding import srgb_encode
from neuralstyle.temporal.baseline_cv import baseline_opencv, side_by_side
from neuralstyle.temporal.flow import Flow, shrink_factor
from neuralstyle.temporal.warp import remap

__all__ = ["Neighbour", "consolidate", "display_for_flow", "keep_detail", "temporal_weight"]

#: Detail is what a blur of this sigma (px) removes: the strokes of the feed-forward networks,
#: which paint in working pixels (1.5 and 3 px measured alike; 0.8 px leaves sharpness at 0.92x).
#: Three 3x3 box passes: a Gaussian of sigma 1.41 (:func:`_blur`).
DETAIL_SIGMA = 2.0**0.5
#: Detail energies are compared over neighbourhoods this much coarser (area-averaged, then three
#: 3x3 box passes: about a Gaussian of 6 px, at a sixteenth of the pixels); the gain is taken
#: there and brought back bilinearly.
ENERGY_SCALE = 4
#: At most this gain: a mean of five unrelated patterns has about 1/sqrt(5) of their amplitude.
MAX_GAIN = 3.0


@dataclass(frozen=True)
class Neighbour:
    """A stylised frame ``offset`` frames from the one being rendered, and the flow from the
    rendered frame's source to its source."""

    offset: int
    styled: np.ndarray
    flow: Flow


def temporal_weight(offset: int, radius: int) -> float:
    """The weight of a neighbour ``offset`` frames away in a window of ``radius`` either side."""
    sigma = max(radius / 2.0, 1.0)
    return math.exp(-(offset**2) / (2.0 * sigma**2))


def display_for_flow(pixels: np.ndarray, *, linear: bool) -> np.ndarray:
    """The (h, w, 3) uint8 picture optical flow sees: display-referred (sRGB-encoded when
    ``linear``), alpha dropped, integer pixels scaled to 8 bits, and shrunk by
    :func:`~neuralstyle.temporal.flow.shrink_factor` (area-averaged, in linear light where the
    pixels are linear)."""
    factor = shrink_factor(*pixels.shape[:2])
    if pixels.dtype.kind == "f" and pixels.dtype != np.float32:
        pixels = pixels.astype(np.float32)  # OpenCV resizes no half floats
    if factor > 1:
        h, w = pixels.shape[:2]
        small = (max(1, round(w / factor)), max(1, round(h / factor)))  # OpenCV's (w, h)
        with baseline_opencv():
            pixels = np.asarray(cv2.resize(pixels, small, interpolation=cv2.INTER_AREA))
        if pixels.ndim == 2:
            pixels = pixels[..., None]
    rgb = pixels[..., :3]
    if rgb.dtype.kind in "ui":
        values = rgb.astype(np.float32) / float(np.iinfo(rgb.dtype).max)
    else:
        values = np.clip(rgb, 0.0, 1.0, dtype=np.float32)
        if linear:
            values = srgb_encode(torch.from_numpy(np.ascontiguousarray(values))).numpy()
    return np.ascontiguousarray((np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def consolidate(
    own: np.ndarray,
    neighbours: Sequence[Neighbour],
    *,
    radius: int,
    amount: float,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """Frame t's output from its own stylisation ``own`` and its ``neighbours`` (see the module
    docstring). Colour channels are combined; a fourth (alpha) channel is ``own``'s. Integer
    pixels are combined in float and rounded back. Where ``keep`` is true the output is
    ``own``, bit-exact: the pixels the frame's own render left as its source (a mask of 0,
    transparent pixels of premultiplied RGBA), which its neighbours must not paint either.
    Flows may be smaller than the frames (:meth:`~neuralstyle.temporal.flow.Flow.resized`).

    Raises:
        InputError: ``amount`` outside [0, 1] or a neighbour of another size or type.

    Shape:
        - own, each neighbour's styled: :math:`(H, W, C)`, C = 3 or 4, same dtype
        - each flow: :math:`(h, w, 2)` and :math:`(h, w)`, the frame's size or a whole
          factor smaller
        - keep: :math:`(H, W)` bool
    """
    if not (0.0 <= amount <= 1.0 and math.isfinite(amount)):
        raise InputError(f"temporal amount must be from 0 to 1, got {amount!r}")
    for n in neighbours:
        if n.styled.shape != own.shape or n.styled.dtype != own.dtype:
            raise InputError(
                f"the frame {n.offset:+d} away is {n.styled.shape} {n.styled.dtype}, "
                f"the frame being rendered {own.shape} {own.dtype}: a shot's frames must match"
            )
    if amount == 0.0 or not neighbours:
        return own
    h, w = own.shape[:2]
    # Interleaved (H, W, C) throughout, as the pixels come: torch's in-place arithmetic on
    # numpy's memory (two threads), OpenCV's remap and blur, and no planar copies.
    pixels = torch.from_numpy(np.ascontiguousarray(own))  # a host's rows may run upwards
    centre = pixels[..., :3].to(torch.float32, memory_format=torch.contiguous_format, copy=True)
    total, weight = torch.empty_like(centre), torch.ones(h, w, 1)
    moved = np.empty((h, w, own.shape[2]), dtype=np.float32)  # one for every neighbour
    summed = centre  # the first neighbour adds to the frame's own, into total
    for n in neighbours:
        flow = n.flow.resized(h, w)
        warped = torch.from_numpy(remap(_float32(n.styled), flow.vectors, out=moved))[..., :3]
        trust = torch.from_numpy(flow.confidence)[..., None] * temporal_weight(n.offset, radius)
        summed = torch.addcmul(summed, warped, trust, out=total)
        weight += trust
    steady = keep_detail(total.div_(weight).numpy(), centre.numpy())
    values = centre.lerp_(torch.from_numpy(steady), amount)
    if own.dtype.kind in "ui":
        values = values.round_().clamp_(0, np.iinfo(own.dtype).max)
    out = np.empty_like(own)
    result = torch.from_numpy(out)
    result[..., 3:].copy_(pixels[..., 3:])
    result[..., :3].copy_(values)  # converts to out's type
    if keep is not None:
        np.copyto(out, own, where=keep[..., None])
    return out


def keep_detail(mean: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``mean`` with its detail scaled up to ``own``'s local detail energy (module docstring).

    Shape:
        - mean, own: :math:`(H, W, C)` float32
        - output: same as ``mean``
    """
    size = mean.shape[:2]

    def energy(d: torch.Tensor) -> torch.Tensor:
        # a sum over the channels: the gain is a ratio of two energies alike
        e = torch.linalg.vecdot(d, d)[None, None]
        coarse = F.avg_pool2d(e, ENERGY_SCALE, ceil_mode=True) if min(size) > ENERGY_SCALE else e
        return torch.from_numpy(_blur(coarse[0, 0].numpy()))

    with baseline_opencv():
        # the two blurs side by side: OpenCV's box filter runs on one core
        blurred, own_blurred = side_by_side(_blur, (mean,), (own,))
        base = torch.from_numpy(blurred)
        detail = torch.from_numpy(mean) - base
        own_detail = torch.sub(torch.from_numpy(own), torch.from_numpy(own_blurred))
        ratio = energy(own_detail).div_(energy(detail).clamp_min_(1e-12))
    # The gain where the energies are (coarse), brought up once; bilinear weights keep it
    # within [1, MAX_GAIN].
    gain = ratio.sqrt_().clamp_(1.0, MAX_GAIN)[None, None]
    if gain.shape[-2:] != size:
        gain = F.interpolate(gain, size=size, mode="bilinear", align_corners=False)
    return base.addcmul_(detail, gain[0, 0, ..., None]).numpy()


def _blur(x: np.ndarray) -> np.ndarray:
    """Three 3x3 box passes, edges reflected (:data:`DETAIL_SIGMA`), by OpenCV's baseline code
    (inside a :func:`~neuralstyle.temporal.baseline_cv.baseline_opencv` block), between two
    buffers: 21 ms for a 1080p RGB frame against 81 ms for torch's ``avg_pool2d`` here (to 2e-7
    the same values), with the same bits under every CPU-dispatch setting tried, as the flow.
    (One separable pass of the 7-tap kernel took half the time, but its multithreaded baseline
    code gave other bits from run to run.)

    Shape:
        - x: :math:`(H, W, C)` or :math:`(H, W)` float32; returns the same
    """
    if min(x.shape[:2]) < 2:  # nothing to reflect
        return x.copy()
    a, b = np.empty_like(x), np.empty_like(x)
    for src, dst in ((np.ascontiguousarray(x), a), (a, b), (b, a)):
        cv2.blur(src, (3, 3), dst=dst, borderType=cv2.BORDER_REFLECT_101)
    return a


def _float32(pixels: np.ndarray) -> np.ndarray:
    return pixels if pixels.dtype == np.float32 else pixels.astype(np.float32)
