"""CUDA side of :func:`neuralstyle.ops.gram.gram_matrix`: plans and launches ``cuda/gram``.

The contract (shapes, layouts, launch shapes) is ``cuda/gram/gram.h``; this module only chooses the
split of the positions, allocates, and launches on torch's current stream. Callers check inputs and
call it only where :func:`neuralstyle.ops._cuda.kernels_available` holds.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from neuralstyle.ops import _cuda
from neuralstyle.ops._cuda import KERNEL_DTYPES, KernelLaunch, ceil_div, i32, i64, ptr

__all__ = ["gram_matrix_cuda"]

# gram.h: kGramThreads, kGramTile, kGramDepth (tests/test_cuda_kernels.py holds them equal).
THREADS = 256
TILE = 64
DEPTH = 32
#: Blocks the forward aims for: enough to fill a large GPU several times over.
TARGET_BLOCKS = 1024
#: Fewest positions per slice, so that a block's loads outweigh its partial tile.
MIN_SLICE = 1024


def tiles(channels: int) -> int:
    """Upper-triangle tiles of a ``channels x channels`` Gram."""
    t = ceil_div(channels, TILE)
    return t * (t + 1) // 2


def slices(batch: int, channels: int, positions: int) -> tuple[int, int]:
    """``(S, slice_len)``: how the forward splits the positions.

    It depends on the shape only (never on the GPU), so the summation order, hence the bits, are
    the same on every device.
    """
    wanted = ceil_div(TARGET_BLOCKS, batch * tiles(channels))
    count = max(1, min(wanted, positions // MIN_SLICE))
    length = ceil_div(ceil_div(positions, count), DEPTH) * DEPTH
    return ceil_div(positions, length), length


def forward_launches(
    f: Tensor, layout: str, gram: Tensor, partial: Tensor | None, *, num_slices: int, slice_len: int
) -> list[KernelLaunch]:
    b, c = f.shape[:2]
    n = _cuda.positions(f)
    name = f"ns_gram_partial_{KERNEL_DTYPES[f.dtype]}_{layout}"
    launches = [
        KernelLaunch(
            name,
            b * tiles(c) * num_slices,
            (ptr(f), i32(c), i64(n), i32(num_slices), i64(slice_len), ptr(partial), ptr(gram)),
            THREADS,
        )
    ]
    if num_slices > 1:
        launches.append(
            KernelLaunch(
                "ns_gram_reduce",
                ceil_div(b * c * c, THREADS),
                (ptr(partial), i32(b), i32(c), i64(n), i32(num_slices), ptr(gram)),
                THREADS,
            )
        )
    return launches


def backward_launches(
    grad_gram: Tensor, f: Tensor, layout: str, sym: Tensor, grad: Tensor
) -> list[KernelLaunch]:
    b, c = f.shape[:2]
    n = _cuda.positions(f)
    name = f"ns_gram_backward_{KERNEL_DTYPES[f.dtype]}_{layout}"
    return [
        KernelLaunch(
            "ns_gram_symmetrize",
            ceil_div(b * c * c, THREADS),
            (ptr(grad_gram), i32(b), i32(c), i64(n), ptr(sym)),
            THREADS,
        ),
        KernelLaunch(
            name,
            b * ceil_div(c, TILE) * ceil_div(n, TILE),
            (ptr(sym), ptr(f), ptr(grad), i32(c), i64(n)),
            THREADS,
        ),
    ]


def gram_forward(f: Tensor, layout: str) -> Tensor:
    """G (B, C, C) float32 of the dense ``f`` (B, C, *spatial) in ``layout``."""
    b, c = f.shape[:2]
    num_slices, slice_len = slices(b, c, _cuda.positions(f))
    gram = _cuda.empty((b, c, c), f.device)
    partial = None
    if num_slices > 1:
        partial = _cuda.empty((b * tiles(c) * num_slices * TILE * TILE,), f.device)
    _cuda.run(
        forward_launches(f, layout, gram, partial, num_slices=num_slices, slice_len=slice_len),
        f.device,
    )
    return gram


def gram_backward(grad_gram: Tensor, f: Tensor, layout: str) -> Tensor:
    """dF = (dG + dG^T) F / N, same shape, dtype and strides as the dense ``f``."""
    b, c = f.shape[:2]
    grad_gram = grad_gram.to(torch.float32).contiguous()
    sym = _cuda.empty((b, c, c), f.device)
    grad = _cuda.empty_like_dense(f)
    _cuda.run(backward_launches(grad_gram, f, layout, sym, grad), f.device)
    return grad


class _GramFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, features: Tensor) -> Tensor:
        f, layout = _cuda.dense_layout(features)
        ctx.save_for_backward(f)
        ctx.layout = layout
        return gram_forward(f, layout)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_gram: Tensor) -> Tensor:
        (f,) = ctx.saved_tensors
        return gram_backward(grad_gram, f, ctx.layout)


def gram_matrix_cuda(features: Tensor) -> Tensor:
    """G = F F^T / N by the ``cuda/gram`` kernels, differentiable once.

    Args:
        features: float32/float16/bfloat16 CUDA tensor, contiguous or channels-last (anything
            else is copied to contiguous first).

    Returns:
        float32 ``(B, C, C)``, exactly symmetric.
    """
    out: Tensor = _GramFunction.apply(features)
    return out
