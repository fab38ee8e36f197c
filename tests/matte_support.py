"""Cut-outs and the rim metric, shared by tests/test_matte_edges.py and
benchmarks/bm_matte_edges.py.

A cut-out is a photograph with a soft-edged matte, as a compositor holds it: scene-linear float
RGBA, premultiplied, colour 0 where alpha is 0 (or, as a PNG holds it, straight uint8). The rim
metric compares a render of the cut-out with a render of the whole photograph cut afterwards by
the same matte, which has no matte edge for the network to see: any difference concentrated
just inside the edge is an edge effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from neuralstyle.pixel_encoding import srgb_decode, srgb_encode

#: Bands, in pixels inside the matte edge (the alpha = 0.5 contour): where a rim shows, and the
#: interior it is compared with.
RIM_BAND = (1.0, 6.0)
INTERIOR_BAND = (8.0, 16.0)
_REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float64)


def photo(name: str, size: int) -> np.ndarray:
    """A ``size`` x ``size`` uint8 RGB photograph (centre crop): a scikit-image picture
    (``astronaut``, ``coffee``, ``chelsea``) or a scikit-learn one (``china``, ``flower``)."""
    from skimage import data, transform

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        rgb = load_sample_image(f"{name}.jpg")
    else:
        rgb = getattr(data, name)()
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb[top : top + side, left : left + side, :3]
    out = transform.resize(square, (size, size), anti_aliasing=True)
    return np.ascontiguousarray((out * 255.0 + 0.5).astype(np.uint8))


def blob_matte(size: int, feather: float = 3.0) -> np.ndarray:
    """A float32 ``(size, size)`` matte: a wobbly disc (five lobes, so the edge has convex and
    concave parts) filling most of the frame, with a linear ramp ``feather`` pixels wide."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dy, dx = yy - size / 2, xx - size / 2
    radius = 0.36 * size * (1.0 + 0.12 * np.sin(5.0 * np.arctan2(dy, dx)))
    inside = radius - np.hypot(dy, dx)  # signed, roughly in pixels
    return np.clip(inside / feather + 0.5, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Cutout:
    """A photograph and a matte in the forms a render takes.

    Attributes:
        alpha: ``(H, W)`` float32 in [0, 1].
        premultiplied: ``(H, W, 4)`` float32, scene-linear, premultiplied (an EXR's pixels).
        opaque: the whole photograph as ``premultiplied`` with alpha 1 (the reference).
        straight: ``(H, W, 4)`` uint8, display-referred, straight alpha, colour 0 where alpha is
            0 (a PNG's pixels).
    """

    alpha: np.ndarray
    premultiplied: np.ndarray
    opaque: np.ndarray
    straight: np.ndarray


def cutout(rgb: np.ndarray, feather: float = 3.0) -> Cutout:
    """``rgb`` (uint8, display-referred) cut out by :func:`blob_matte`."""
    alpha = blob_matte(rgb.shape[0], feather)
    linear = srgb_decode(torch.from_numpy(rgb.astype(np.float32) / 255.0)).numpy()
    a = alpha[..., None]
    straight_rgb = np.where(a > 0, rgb, 0).astype(np.uint8)
    a8 = (alpha * 255.0 + 0.5).astype(np.uint8)[..., None]
    return Cutout(
        alpha=alpha,
        premultiplied=np.concatenate([linear * a, a], axis=-1).astype(np.float32),
        opaque=np.concatenate([linear, np.ones_like(a)], axis=-1).astype(np.float32),
        straight=np.ascontiguousarray(np.concatenate([straight_rgb, a8], axis=-1)),
    )


def display_colour(rgba: np.ndarray, premultiplied: bool) -> np.ndarray:
    """The straight, display-referred colour of a render, float64 in about [0, 1]: float
    renders are scene-linear (sRGB-encoded here), integer renders display-referred already."""
    rgb = rgba[..., :3].astype(np.float64)
    if rgba.dtype == np.uint8:
        rgb = rgb / 255.0
    if premultiplied:
        alpha = rgba[..., 3:].astype(np.float64)
        rgb = rgb / np.where(alpha > 0, alpha, 1.0)
    if rgba.dtype.kind == "f":
        rgb = srgb_encode(torch.from_numpy(rgb)).numpy()
    return rgb


def depth_inside(alpha: np.ndarray) -> np.ndarray:
    """Distance in pixels from each pixel inside the matte (alpha >= 0.5) to the nearest pixel
    outside it; 0 outside."""
    return np.asarray(ndimage.distance_transform_edt(alpha >= 0.5), dtype=np.float64)


def _band(depth: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    return (depth >= band[0]) & (depth <= band[1])


def rim_metric(cut: np.ndarray, reference: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """How much paler the band just inside the matte edge is in ``cut`` than in ``reference``.

    ``cut`` and ``reference`` are straight display-referred colours ``(H, W, 3)``
    (:func:`display_colour`) of a cut-out's render and of the whole photograph's render.

    Returns:
        ``rim``: the cut's luma in :data:`RIM_BAND` over its luma in :data:`INTERIOR_BAND`,
        divided by the same ratio for the reference, minus 1 (0: no edge effect; 0.1: the rim
        is 10 % paler, relative to the interior, than the un-cut render's). Dividing by the
        interior leaves out a change of the whole picture's brightness; dividing by the
        reference leaves out what the style itself does near that part of the picture.
        ``error_rim`` / ``error_interior``: mean absolute colour difference to the reference
        in each band (a rim that changes hue rather than brightness shows here).
    """
    depth = depth_inside(alpha)
    profile = rim_profile(cut, reference, alpha, (RIM_BAND,), depth)
    error = np.abs(cut - reference).mean(axis=-1)
    return {
        "rim": profile[0] - 1.0,
        "error_rim": float(error[_band(depth, RIM_BAND)].mean()),
        "error_interior": float(error[_band(depth, INTERIOR_BAND)].mean()),
    }


def rim_profile(
    cut: np.ndarray,
    reference: np.ndarray,
    alpha: np.ndarray,
    bands: tuple[tuple[float, float], ...],
    depth: np.ndarray | None = None,
) -> list[float]:
    """Per band (pixels inside the edge, ends included): ``cut``'s luma over ``reference``'s,
    divided by the same ratio in :data:`INTERIOR_BAND` (1: no edge effect at that depth)."""
    depth = depth_inside(alpha) if depth is None else depth
    luma_cut, luma_ref = cut @ _REC709, reference @ _REC709

    def ratio(band: tuple[float, float]) -> float:
        inside = _band(depth, band)
        return float(luma_cut[inside].mean() / luma_ref[inside].mean())

    interior = ratio(INTERIOR_BAND)
    return [ratio(band) / interior for band in bands]
