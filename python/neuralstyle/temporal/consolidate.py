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
from neuralstyle.temporal.flow import Flow, baseline_opencv
from neuralstyle.temporal.warp import warp_inside

__all__ = ["Neighbour", "consolidate", "display_for_flow", "keep_detail", "temporal_weight"]

#: Detail is what a blur of this sigma (px) removes: the strokes of the feed-forward networks,
#: which paint in working pixels (1.5 and 3 px measured alike; 0.8 px leaves sharpness at 0.92x).
#: Three 3x3 box passes: a Gaussian of sigma 1.41, a third of a separable Gaussian's CPU time.
DETAIL_SIGMA = 2.0**0.5
#: Detail energies are compared over neighbourhoods this much coarser (area-averaged, then three
#: 3x3 box passes, then bilinear back: about a Gaussian of 6 px, at a sixteenth of the pixels).
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
    """The (H, W, 3) uint8 picture optical flow sees: display-referred (sRGB-encoded when
    ``linear``), alpha dropped; integer pixels scaled to 8 bits."""
    rgb = pixels[..., :3]
    if rgb.dtype.kind in "ui":
        values = rgb.astype(np.float32) / float(np.iinfo(rgb.dtype).max)
    else:
        values = np.clip(rgb.astype(np.float32), 0.0, 1.0)
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

    Raises:
        InputError: ``amount`` outside [0, 1] or a neighbour of another size or type.

    Shape:
        - own, each neighbour's styled: :math:`(H, W, C)`, C = 3 or 4, same dtype
        - each flow: :math:`(H, W, 2)` and :math:`(H, W)`
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
    colour = slice(0, 3)
    centre = _planar(own[..., colour])
    total = centre.clone()
    weight = torch.ones_like(centre[:, :1])
    for n in neighbours:
        flow = torch.from_numpy(np.ascontiguousarray(n.flow.vectors)).permute(2, 0, 1)[None]
        trust = torch.from_numpy(np.ascontiguousarray(n.flow.confidence))[None, None]
        warped, inside = warp_inside(_planar(n.styled[..., colour]), flow)
        w = trust * inside * temporal_weight(n.offset, radius)
        total += w * warped
        weight += w
    mixed = centre + amount * (keep_detail(total / weight, centre) - centre)
    values = mixed[0].permute(1, 2, 0).numpy()
    if own.dtype.kind in "ui":
        values = np.clip(np.rint(values), 0, np.iinfo(own.dtype).max)
    out = np.empty_like(own)
    out[..., 3:] = own[..., 3:]
    np.copyto(out[..., colour], values, casting="unsafe")
    if keep is not None:
        np.copyto(out, own, where=keep[..., None])
    return out


def keep_detail(mean: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``mean`` with its detail scaled up to ``own``'s local detail energy (module docstring).

    Shape:
        - mean, own: :math:`(1, C, H, W)`, float32 on the CPU
        - output: same as ``mean``
    """
    base = _blur(mean)
    detail = mean - base
    own_detail = own - _blur(own)
    size = mean.shape[-2:]

    def energy(d: torch.Tensor) -> torch.Tensor:
        e = d.square().mean(dim=1, keepdim=True)
        coarse = F.avg_pool2d(e, ENERGY_SCALE, ceil_mode=True) if min(size) > ENERGY_SCALE else e
        return F.interpolate(_blur(coarse), size=size, mode="bilinear", align_corners=False)

    gain = (energy(own_detail) / energy(detail).clamp_min(1e-12)).sqrt().clamp(1.0, MAX_GAIN)
    return base + gain * detail


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Three 3x3 box passes, edges reflected (:data:`DETAIL_SIGMA`), by OpenCV's baseline code:
    24 ms for a 1080p frame against 81 ms for torch's ``avg_pool2d`` here (to 2e-7 the same
    values), with the same bits under every CPU-dispatch setting tried, as the flow
    (:func:`~neuralstyle.temporal.flow.baseline_opencv`).

    Shape:
        - x: :math:`(1, C, H, W)` float32 on the CPU; returns the same
    """
    if min(x.shape[-2:]) < 2:  # nothing to reflect
        return x
    planes = x[0].permute(1, 2, 0).contiguous().numpy()
    with baseline_opencv():
        for _ in range(3):
            planes = cv2.blur(planes, (3, 3), borderType=cv2.BORDER_REFLECT_101)
    if planes.ndim == 2:  # OpenCV gives a single channel back without its axis
        planes = planes[..., None]
    return torch.from_numpy(planes).permute(2, 0, 1)[None]


def _planar(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).permute(2, 0, 1)[None]
