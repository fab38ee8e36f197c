"""The memory plan of optimisation-based style transfer: :func:`estimate_memory`.

Apart from the loop because it is read before any tensor is made: the method refuses a frame
that cannot fit the free memory of its device, and the benchmarks size their frames by it.
"""

from __future__ import annotations

from neuralstyle.methods.optimize_settings import OptimizeSettings
from neuralstyle.methods.optimize_tiles import pixels, tile_plan

__all__ = ["estimate_memory"]

# Measured with saved-tensor hooks on the CPU (relu1_1..relu5_1 + relu4_2, frozen VGG-19):
# 1532 B/px kept for backward; the backward's largest transient (two 64-channel gradients at
# full size) adds 512 B/px.
_ACTIVATION_BYTES_PER_PIXEL = 1532 + 512
_FIXED_BYTES = 80 * 2**20 + 2**30  # VGG-19 weights + a cuDNN workspace allowance
# A tiled level's whole pictures: the start, the content, the result, the frame's own input and
# output at the engine, and the level below and the masks (a quarter each), rounded up.
_WHOLE_LEVEL_IMAGES = 7


def estimate_memory(size: tuple[int, int], settings: OptimizeSettings | None = None) -> int:
    """Estimated peak device memory in bytes for optimising an image of ``size``: the finest
    pyramid level dominates, and of it the largest piece optimised at once (a level over
    :data:`~neuralstyle.methods.optimize_tiles.TILE_PIXELS` runs in tiles): activations and
    their gradients, the optimiser state, a 20 % allocator margin, weights and a workspace
    allowance; for a tiled level also the whole level's pictures (its start, content, result
    and the level below). Not measured on a GPU."""
    s = settings or OptimizeSettings()
    px = size[0] * size[1]
    piece = max(pixels(region) for region in tile_plan(size))
    image = 3 * 4 * piece
    state = (2 * s.history_size + 6) * image if s.optimizer == "lbfgs" else 5 * image
    whole = 0 if piece == px else _WHOLE_LEVEL_IMAGES * 3 * 4 * px
    return int(1.2 * (_ACTIVATION_BYTES_PER_PIXEL * piece + state)) + whole + _FIXED_BYTES
