"""The coarse-to-fine schedule of optimisation: the pyramid's level sizes, the style image for a
level, and the 8-bit snap that makes a proxy start where the full render starts.

Levels are halvings of the frame, so a proxy at render scale 1/2^k runs exactly the first levels
of the full render (DESIGN decision 6); these helpers are what both must compute identically.
"""

from __future__ import annotations

from torch import Tensor

from neuralstyle.controls.scale import resize_image

__all__ = ["level_style", "pyramid_sizes", "snap"]


def pyramid_sizes(
    size: tuple[int, int], min_level_size: int = 256, max_levels: int = 4
) -> list[tuple[int, int]]:
    """Sizes from coarsest to ``size``: successive halvings while the long side stays at or above
    ``min_level_size``, at most ``max_levels`` of them."""
    h, w = size
    levels = 1
    while levels < max_levels and max(h, w) / 2**levels >= min_level_size:
        levels += 1
    return [(max(1, round(h / 2**k)), max(1, round(w / 2**k))) for k in range(levels - 1, -1, -1)]


def level_style(style: Tensor, long_side: int) -> Tensor:
    """A style image for a pyramid level: its long side ``long_side``, each side >= 16 (VGG-19's
    deepest style layer needs a pixel)."""
    h, w = style.shape[-2:]
    s = long_side / max(h, w)
    return resize_image(style, (max(16, round(h * s)), max(16, round(w * s))))


def snap(image: Tensor) -> Tensor:
    """``image`` rounded to 8-bit steps.

    The optimisation is chaotic: content images that differ by less than an 8-bit step (a proxy
    frame the host box-filtered vs. the full render's own first pyramid level; float sums in
    another order) end in different brush strokes (SSIM 0.80 between the two results at 256 px,
    L-BFGS). Snapped to the same steps, they are the same image, and a proxy runs exactly the
    full render's first level. The step is below what the painted result shows.
    """
    return image.mul(255.0).round_().div_(255.0)
