r"""Backward bilinear warping of images by a flow field, in torch (CPU and GPU).

With the flow of :func:`neuralstyle.temporal.flow.flow_between` (target -> source):

.. math::

    \mathrm{out}(x, y) = \mathrm{image}(x + dx(x, y),\; y + dy(x, y))

Pixel centres are at integer coordinates, :math:`(0, 0)` the top-left pixel, so a pixel position
:math:`p \in [0, W - 1]` is the normalised coordinate :math:`2p / (W - 1) - 1` of ``grid_sample``
with ``align_corners=True``. Outside the image the samples are zero, and a point less than a pixel
outside blends its nearest pixels with zero: :func:`inside` says where to trust the result.

:func:`remap` is the same warp for interleaved ``(H, W, C)`` pixels on the CPU, by OpenCV: what
the consolidation of a shot's frames runs, several times a frame (4 ms for a 1080p RGBA frame,
against 8-11 ms for ``grid_sample`` alone, plus the planar copies and the normalised grid it
needs).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import grid_sample

from neuralstyle.errors import InputError
from neuralstyle.temporal.baseline_cv import baseline_opencv
from neuralstyle.tensor_words import describe

__all__ = ["inside", "remap", "warp", "warp_inside"]


def _check(image: Tensor | None, flow: object) -> Tensor:
    if not isinstance(flow, Tensor) or flow.dim() != 4 or flow.shape[1] != 2:
        raise InputError(f"warp: expected flow of shape (N, 2, H, W), got {describe(flow)}")
    if not flow.is_floating_point():
        raise InputError(f"warp: expected a floating-point flow, got {describe(flow)}")
    if min(flow.shape[2:]) < 2:
        raise InputError(f"warp: expected a flow of at least 2x2, got {describe(flow)}")
    if image is None:
        return flow
    if not isinstance(image, Tensor) or image.dim() != 4 or not image.is_floating_point():
        raise InputError(f"warp: expected a floating (N, C, H, W) image, got {describe(image)}")
    if image.shape[0] != flow.shape[0] or image.shape[2:] != flow.shape[2:]:
        raise InputError(
            f"warp: image {describe(image)} and flow {describe(flow)} differ in batch or size"
        )
    if image.device != flow.device:
        raise InputError(f"warp: image on {image.device}, flow on {flow.device}")
    return flow


def _positions(flow: Tensor) -> Tensor:
    """Where each target pixel samples the source, in pixels: (N, H, W, 2) as (x, y), float32 at
    least (float16 cannot count pixels past 2048)."""
    _, _, h, w = flow.shape
    flow = flow.to(torch.promote_types(flow.dtype, torch.float32))
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(1, h, 1)
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, 1, w)
    return torch.stack((xs + flow[:, 0], ys + flow[:, 1]), dim=-1)


def warp(image: Tensor, flow: Tensor) -> Tensor:
    """The source ``image`` moved onto the target by a backward ``flow``: bilinear, zeros outside.
    Differentiable in ``image`` and ``flow``. Sampled in float32 at least (a float16 position
    is off by up to half a pixel at 2K), returned in the image's dtype.

    Shape:
        - image: :math:`(N, C, H, W)`, floating
        - flow: :math:`(N, 2, H, W)`, ``(dx, dy)`` in pixels, same device
        - returns: :math:`(N, C, H, W)`, the image's dtype

    Raises:
        InputError: wrong shapes, dtypes or devices, or frames under 2x2.
    """
    return warp_inside(image, flow)[0]


def warp_inside(image: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`warp` and :func:`inside` from one computation of the sampled positions (the
    consolidation needs both for every neighbour of every frame).

    Raises:
        InputError: as :func:`warp`.
    """
    flow = _check(image, flow)
    dtype = torch.promote_types(image.dtype, torch.float32)
    flow = flow.to(dtype)
    h, w = flow.shape[2:]
    positions = _positions(flow)
    scale = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)], dtype=dtype, device=flow.device)
    out = grid_sample(
        image.to(dtype), positions * scale - 1.0, mode="bilinear", padding_mode="zeros",
        align_corners=True,
    )  # fmt: skip
    return out.to(image.dtype), _inside(positions, h, w).to(flow.dtype)


def inside(flow: Tensor) -> Tensor:
    """1 where the point a target pixel samples lies inside the source frame (pixel centres
    ``0 <= x + dx <= W - 1`` and ``0 <= y + dy <= H - 1``), else 0.

    Shape:
        - flow: :math:`(N, 2, H, W)`; returns :math:`(N, 1, H, W)`, the flow's dtype
    """
    flow = _check(None, flow)
    h, w = flow.shape[2:]
    return _inside(_positions(flow), h, w).to(flow.dtype)


def _inside(p: Tensor, h: int, w: int) -> Tensor:
    ok = (p[..., 0] >= 0) & (p[..., 0] <= w - 1) & (p[..., 1] >= 0) & (p[..., 1] <= h - 1)
    return ok.unsqueeze(1)


def remap(image: np.ndarray, vectors: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`warp` of interleaved float32 pixels on the CPU, by OpenCV's ``remap``: positions
    are rounded to 1/32 px (a sixty-fourth of a pixel at most, far under a stroke), and a point
    outside takes the nearest edge pixel instead of zero (a flow's confidence already rejects
    points outside, :mod:`neuralstyle.temporal.flow`). OpenCV's baseline code, as the flow's:
    the same bits on any x86-64 CPU.

    Shape:
        - image: :math:`(H, W, C)` float32, C from 1 to 4
        - vectors: :math:`(H, W, 2)` float32 backward flow, ``(dx, dy)`` in pixels
        - out: where to write it (the image's shape and dtype), or None for a new array
        - returns: :math:`(H, W, C)` float32
    """
    h, w = vectors.shape[:2]
    if image.shape[:2] != (h, w) or image.dtype != np.float32:
        raise InputError(
            f"remap: expected float32 pixels of {w}x{h}, got {image.dtype} {image.shape}"
        )
    positions = vectors + _pixel_grid(h, w)
    if out is None:
        out = np.empty_like(image)
    with baseline_opencv():
        cv2.remap(
            image, positions, None, cv2.INTER_LINEAR, dst=out.reshape(image.shape),
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
    return out


@functools.lru_cache(maxsize=2)
def _pixel_grid(h: int, w: int) -> np.ndarray:
    """``(x, y)`` of every pixel, (H, W, 2) float32: a shot's frames share one size."""
    grid = np.empty((h, w, 2), dtype=np.float32)
    grid[..., 0] = np.arange(w, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(h, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid
