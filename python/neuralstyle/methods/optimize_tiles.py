"""Optimisation of frames too large to optimise in one piece: a pyramid level over
:data:`TILE_PIXELS` working pixels runs as overlapping tiles, and a style image over it gives its
Gram matrices from row bands.

Memory grows with the pixels optimised at once (about 3.1 KB a pixel with the defaults,
:func:`~neuralstyle.methods.optimize_memory.estimate_memory`): an 8K frame's finest level alone
would need about 100 GB. A level over :data:`TILE_PIXELS` (3.1 Mpx, about 11 GB) is cut into the
fewest tiles under it (:func:`tile_plan`), each optimised on its own against the level's style
targets, with its content and its part of the level below (the pyramid term), from its part of
the level's start. Every tile starts from and is anchored to the same coarse picture, so the tiles
agree on the composition and differ only in the strokes; where two meet they overlap by
2 x :data:`OVERLAP` pixels and are cross-faded linearly (:func:`blend_weights`: the weights sum to
1 everywhere). Frames up to 2048x1536 have no tiled level and render as before.

The plan depends on the frame's size alone, never on the device's free memory, so a frame is
optimised the same way on every machine (the strict profile's bits).

Style Gram matrices are sums over pixels, so a large style image's are taken band by band
(:func:`band_grams`): rows of at most :data:`TILE_PIXELS` pixels, each encoded with
:data:`BAND_HALO` rows of context either side, only its own rows counted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from neuralstyle.models.encoder import MultiLayerEncoder
from neuralstyle.ops.gram import gram_matrix

__all__ = [
    "BAND_HALO",
    "OVERLAP",
    "TILE_PIXELS",
    "Region",
    "band_grams",
    "blend_weights",
    "pixels",
    "tile_plan",
]

#: A pyramid level (and a style image) over this many pixels is optimised (encoded) in pieces.
TILE_PIXELS = 3 * 2**20
#: Tiles reach this many pixels past each inner edge: neighbours share 2 x OVERLAP pixels.
OVERLAP = 64
#: Rows of context above and below a style band (VGG-19's deepest style layer sees about 200 px;
#: its outer rows are there only to be seen).
BAND_HALO = 64
# Tile edges and bands fall on multiples of VGG-19's deepest stride (16 at relu5_1), so a tile's
# feature grids line up with the frame's.
_ALIGN = 16

Region = tuple[slice, slice]


def tile_plan(size: tuple[int, int], max_pixels: int | None = None) -> list[Region]:
    """The regions (rows, columns) a level of ``size`` is optimised in: itself when it has at
    most ``max_pixels`` (default :data:`TILE_PIXELS`) pixels, else the fewest tiles of at most
    ``max_pixels`` each (overlap included; fewer rows than columns on a tie)."""
    max_pixels = TILE_PIXELS if max_pixels is None else max_pixels
    h, w = size
    if h * w <= max_pixels:
        return [(slice(0, h), slice(0, w))]
    for count in range(2, 4096):
        for rows in range(1, count + 1):
            if count % rows:
                continue
            cols = count // rows
            ys, xs = _edges(h, rows), _edges(w, cols)
            if ys is None or xs is None:
                continue
            tall = max(b - a for a, b in _spans(ys, h))
            wide = max(b - a for a, b in _spans(xs, w))
            if tall * wide <= max_pixels:
                return [(slice(*r), slice(*c)) for r in _spans(ys, h) for c in _spans(xs, w)]
    raise ValueError(f"no tile plan for {size} in {max_pixels} pixels")  # unreachable in use


def pixels(region: Region) -> int:
    """The pixels of a region."""
    rows, cols = region
    return int((rows.stop - rows.start) * (cols.stop - cols.start))


def blend_weights(region: Region, size: tuple[int, int], device: torch.device) -> Tensor:
    """The weights of a tile's pixels in the level, ``(1, 1, h, w)``: 1 inside, falling
    linearly across each 2 x :data:`OVERLAP` band it shares with a neighbour (where the
    neighbour's rise): over the tiles of a plan they sum to 1 at every pixel."""
    rows, cols = region
    wy = _ramp(rows, size[0], device)
    wx = _ramp(cols, size[1], device)
    return (wy[:, None] * wx[None, :])[None, None]


def band_grams(
    encoder: MultiLayerEncoder,
    image: Tensor,
    layers: Sequence[str],
    max_pixels: int | None = None,
) -> dict[str, Tensor]:
    """The Gram matrices (:func:`~neuralstyle.ops.gram.gram_matrix`, float32) of ``image``'s
    features at ``layers``, from bands of at most ``max_pixels`` (default :data:`TILE_PIXELS`)
    pixels when it is larger.

    Shape:
        - image: :math:`(1, 3, H, W)`
        - each output: :math:`(1, C, C)`
    """
    max_pixels = TILE_PIXELS if max_pixels is None else max_pixels
    h, w = image.shape[-2:]
    with torch.no_grad():
        if h * w <= max_pixels:
            return {k: gram_matrix(v).float() for k, v in encoder(image, layers).items()}
        step = max(_ALIGN, (max_pixels // w - 2 * BAND_HALO) // _ALIGN * _ALIGN)
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = dict.fromkeys(layers, 0)
        for top in range(0, h, step):
            bottom = min(h, top + step)
            start = max(0, top - BAND_HALO)
            band = image[..., start : min(h, bottom + BAND_HALO), :]
            for k, f in encoder(band, layers).items():
                stride = _stride(band.shape[-2], f.shape[-2])
                own = f[..., (top - start) // stride : _own_end(bottom, start, stride, h, f), :]
                flat = own.flatten(2).float()
                part = flat @ flat.transpose(1, 2)
                sums[k] = part if k not in sums else sums[k] + part
                counts[k] += flat.shape[-1]
        return {k: sums[k] / counts[k] for k in layers}


def _edges(n: int, parts: int) -> list[int] | None:
    """Inner edges of ``parts`` cores along a side of ``n``, on multiples of 16; None where a
    core would be narrower than its two overlaps."""
    edges = [round(i * n / parts / _ALIGN) * _ALIGN for i in range(1, parts)]
    bounds = [0, *edges, n]
    if any(b - a < 2 * OVERLAP for a, b in itertools.pairwise(bounds)):
        return None
    return edges


def _spans(edges: list[int], n: int) -> list[tuple[int, int]]:
    bounds = [0, *edges, n]
    return [(max(0, a - OVERLAP), min(n, b + OVERLAP)) for a, b in itertools.pairwise(bounds)]


def _ramp(span: slice, n: int, device: torch.device) -> Tensor:
    start, stop = span.start, span.stop
    ramp = torch.ones(stop - start, device=device)
    rise = (torch.arange(2 * OVERLAP, device=device) + 0.5) / (2 * OVERLAP)
    if start > 0:  # shares [start, start + 2 OVERLAP) with the tile before
        ramp[: 2 * OVERLAP] = rise
    if stop < n:
        ramp[-2 * OVERLAP :] = rise.flip(0)
    return ramp


def _stride(rows: int, feature_rows: int) -> int:
    """The layer's stride: the power of two its grid is smaller than the image by."""
    return int(2 ** round(math.log2(max(1, rows) / max(1, feature_rows))))


def _own_end(bottom: int, start: int, stride: int, h: int, features: Tensor) -> int:
    """The last feature row (exclusive) a band owns: up to its own bottom, or all of them at
    the image's bottom edge."""
    if bottom >= h:
        return int(features.shape[-2])
    return (bottom - start) // stride
