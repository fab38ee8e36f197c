"""CUDA side of instance normalisation, conditional IN and AdaIN: plans and launches
``cuda/instance_norm``.

The three ops are one kernel pipeline (statistics, a per-variant finalize, output), see the
contract in ``cuda/instance_norm/instance_norm.h``. The functions here take the same arguments as
their torch references (``neuralstyle.ops.instance_norm``, ``neuralstyle.ops.adain``) plus a fused
``relu`` for IN and CIN; they expect inputs those modules have already checked and are called only
where :func:`neuralstyle.ops._cuda.kernels_available` holds. Statistics and arithmetic are float32
for every dtype; outputs and input gradients come back in the input's dtype, parameter gradients in
the parameters' dtype.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from neuralstyle.ops import _cuda
from neuralstyle.ops._cuda import KERNEL_DTYPES, KernelLaunch, ceil_div, f32, i32, i64, ptr

__all__ = ["adain_cuda", "conditional_instance_norm_cuda", "instance_norm_cuda"]

#: instance_norm.h kNormThreads (tests/test_cuda_kernels.py holds them equal).
THREADS = 256
#: Blocks the statistics and backward reductions aim for.
TARGET_BLOCKS = 1024
#: Elements one output block handles.
APPLY_ELEMENTS = 8192


# ---- plans and launches -------------------------------------------------------------------------


def stats_plan(
    layout: str, batch: int, channels: int, positions: int, vec: int
) -> tuple[int, int, int]:
    """``(S, L, grid)`` of the statistics and backward-reduction launches.

    Shape-only (never the GPU), so the reduction order, hence the bits, are the same on every
    device.
    """
    if layout == "nchw":
        units = batch * channels
        min_len = THREADS * vec * 4  # every thread makes a few passes
    else:
        packs = channels // vec
        group = min(packs, THREADS)
        units = batch * ceil_div(packs, group)
        min_len = (THREADS // group) * 8
    count = max(1, min(ceil_div(TARGET_BLOCKS, units), positions // min_len))
    length = ceil_div(positions, count)
    if layout == "nchw":
        length = ceil_div(length, vec) * vec
    count = ceil_div(positions, length)
    return count, length, units * count


def apply_plan(
    layout: str, batch: int, channels: int, positions: int, vec: int
) -> tuple[int, int, int]:
    """``(S, L, grid)`` of the elementwise output launches."""
    if layout == "nchw":
        length = min(ceil_div(positions, vec) * vec, APPLY_ELEMENTS)
        count = ceil_div(positions, length)
        return count, length, batch * channels * count
    length = max(1, APPLY_ELEMENTS // channels)
    count = ceil_div(positions, length)
    return count, length, batch * count


def _suffix(x: Tensor, layout: str, vec: int) -> str:
    return f"{KERNEL_DTYPES[x.dtype]}_{layout}_{'vec' if vec > 1 else 'scalar'}"


def forward_launches(
    x: Tensor,
    layout: str,
    y: Tensor,
    *,
    vec: int,
    part_mean: Tensor,
    part_m2: Tensor,
    coef: Tensor,
    finalize: tuple[str, tuple[Any, ...]],
    eps: float,
    keep: float,
    relu: bool,
) -> list[KernelLaunch]:
    b, c = x.shape[:2]
    n = _cuda.positions(x)
    suffix = _suffix(x, layout, vec)
    chunks, length, grid = stats_plan(layout, b, c, n, vec)
    a_chunks, a_length, a_grid = apply_plan(layout, b, c, n, vec)
    finalize_kernel, finalize_args = finalize
    return [
        KernelLaunch(
            f"ns_in_stats_{suffix}",
            grid,
            (ptr(x), i32(c), i64(n), i32(chunks), i64(length), ptr(part_mean), ptr(part_m2)),
            THREADS,
        ),
        KernelLaunch(
            finalize_kernel,
            ceil_div(b * c, THREADS),
            (
                *(ptr(part_mean), ptr(part_m2), i32(b), i32(c), i64(n), i32(chunks), i64(length)),
                *(f32(eps), *finalize_args, ptr(coef)),
            ),
            THREADS,
        ),
        KernelLaunch(
            f"ns_in_apply_{suffix}",
            a_grid,
            (
                *(ptr(x), ptr(coef), f32(keep), i32(int(relu)), ptr(y), i32(c), i64(n)),
                *(i32(a_chunks), i64(a_length)),
            ),
            THREADS,
        ),
    ]


def backward_launches(
    x: Tensor,
    dy: Tensor,
    layout: str,
    dx: Tensor,
    *,
    vec: int,
    coef: Tensor,
    part_g: Tensor,
    part_gx: Tensor,
    bcoef: Tensor,
    keep: float,
    relu: bool,
    corr: int,
) -> list[KernelLaunch]:
    b, c = x.shape[:2]
    n = _cuda.positions(x)
    suffix = _suffix(x, layout, vec)
    chunks, length, grid = stats_plan(layout, b, c, n, vec)
    a_chunks, a_length, a_grid = apply_plan(layout, b, c, n, vec)
    flags = (f32(keep), i32(int(relu)))
    return [
        KernelLaunch(
            f"ns_in_bwd_reduce_{suffix}",
            grid,
            (
                *(ptr(x), ptr(dy), ptr(coef), *flags, i32(c), i64(n), i32(chunks), i64(length)),
                *(ptr(part_g), ptr(part_gx)),
            ),
            THREADS,
        ),
        KernelLaunch(
            "ns_in_bwd_finalize",
            ceil_div(b * c, THREADS),
            (ptr(part_g), ptr(part_gx), i32(b * c), i32(chunks), i64(n), f32(corr), ptr(bcoef)),
            THREADS,
        ),
        KernelLaunch(
            f"ns_in_bwd_apply_{suffix}",
            a_grid,
            (
                *(ptr(x), ptr(dy), ptr(coef), ptr(bcoef), *flags, ptr(dx), i32(c), i64(n)),
                *(i32(a_chunks), i64(a_length)),
            ),
            THREADS,
        ),
    ]


def _forward(
    x: Tensor, finalize: tuple[str, tuple[Any, ...]], eps: float, keep: float, relu: bool
) -> tuple[Tensor, str, Tensor, Tensor]:
    """Runs the forward pipeline; returns the dense input, its layout, the output and coef."""
    xd, layout = _cuda.dense_layout(x)
    b, c = xd.shape[:2]
    y = _cuda.empty_like_dense(xd)
    vec = _cuda.pack_width(layout, xd, (xd, y))
    chunks = stats_plan(layout, b, c, _cuda.positions(xd), vec)[0]
    part_mean = _cuda.empty((b * c * chunks,), x.device)
    part_m2 = _cuda.empty((b * c * chunks,), x.device)
    coef = _cuda.empty((b * c, 4), x.device)
    launches = forward_launches(
        xd,
        layout,
        y,
        vec=vec,
        part_mean=part_mean,
        part_m2=part_m2,
        coef=coef,
        finalize=finalize,
        eps=eps,
        keep=keep,
        relu=relu,
    )
    _cuda.run(launches, x.device)
    return xd, layout, y, coef


def _backward(
    xd: Tensor, layout: str, coef: Tensor, dy: Tensor, *, keep: float, relu: bool, corr: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Runs the backward pipeline; returns dx and the per-(b, c) sums of g and g x^ (B, C)."""
    b, c = xd.shape[:2]
    dy = _cuda.restride(dy, xd)
    dx = _cuda.empty_like_dense(xd)
    vec = _cuda.pack_width(layout, xd, (xd, dy, dx))
    chunks = stats_plan(layout, b, c, _cuda.positions(xd), vec)[0]
    part_g = _cuda.empty((b * c * chunks,), xd.device)
    part_gx = _cuda.empty((b * c * chunks,), xd.device)
    bcoef = _cuda.empty((b * c, 4), xd.device)
    launches = backward_launches(
        xd,
        dy,
        layout,
        dx,
        vec=vec,
        coef=coef,
        part_g=part_g,
        part_gx=part_gx,
        bcoef=bcoef,
        keep=keep,
        relu=relu,
        corr=corr,
    )
    _cuda.run(launches, xd.device)
    return dx, bcoef[:, 0].reshape(b, c), bcoef[:, 1].reshape(b, c)


def finalize_affine(gamma: Tensor | None, beta: Tensor | None) -> tuple[str, tuple[Any, ...]]:
    """IN: ``gamma``, ``beta`` float32 contiguous ``(C)`` or ``(N, C)``, or ``None``."""

    def stride(p: Tensor | None) -> int:
        return 0 if p is None or p.dim() == 1 else p.shape[1]

    return "ns_in_finalize_affine", (ptr(gamma), i32(stride(gamma)), ptr(beta), i32(stride(beta)))


def finalize_cin(weights: Tensor, gammas: Tensor, betas: Tensor) -> tuple[str, tuple[Any, ...]]:
    """CIN: ``weights`` float32 ``(S)`` or ``(N, S)``, tables float32 ``(S, C)``, contiguous."""
    styles = gammas.shape[0]
    per_sample = styles if weights.dim() == 2 else 0
    return "ns_in_finalize_cin", (
        ptr(weights),
        i32(per_sample),
        i32(styles),
        ptr(gammas),
        ptr(betas),
    )


def finalize_adain(mean: Tensor, std: Tensor, alpha: float) -> tuple[str, tuple[Any, ...]]:
    """AdaIN: style ``mean``, ``std`` float32 contiguous ``(N, C)``."""
    return "ns_in_finalize_adain", (ptr(mean), ptr(std), f32(alpha))


def _float32(t: Tensor) -> Tensor:
    return t.to(torch.float32).contiguous()


def _planes(t: Tensor, batch: int, channels: int) -> Tensor:
    """Per-sample or shared per-channel values as a float32 ``(B, C)`` tensor."""
    return _float32(t.reshape(-1, channels).expand(batch, channels))


def _grad_like(grad_bc: Tensor, like: Tensor) -> Tensor:
    """Per-(b, c) gradient ``(B, C)`` reduced to the shape and dtype of a parameter."""
    if like.dim() == 1:
        grad_bc = grad_bc.sum(0)
    return grad_bc.reshape(like.shape).to(like.dtype)


# ---- instance norm ------------------------------------------------------------------------------


class _InstanceNorm(torch.autograd.Function):
    @staticmethod
    def forward(  # noqa: PLR0917 -- Function.apply passes arguments by position
        ctx: Any,
        x: Tensor,
        weight: Tensor | None,
        bias: Tensor | None,
        eps: float,
        relu: bool,
    ) -> Tensor:
        gamma = None if weight is None else _float32(weight)
        beta = None if bias is None else _float32(bias)
        xd, layout, y, coef = _forward(x, finalize_affine(gamma, beta), eps, 0.0, relu)
        ctx.save_for_backward(xd, coef, weight, bias)
        ctx.layout, ctx.relu = layout, relu
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, ...]:
        xd, coef, weight, bias = ctx.saved_tensors
        dx, sum_g, sum_gx = _backward(
            xd, ctx.layout, coef, dy, keep=0.0, relu=ctx.relu, corr=_cuda.positions(xd)
        )
        dweight = _grad_like(sum_gx, weight) if weight is not None else None
        dbias = _grad_like(sum_g, bias) if bias is not None else None
        return dx, dweight, dbias, None, None


def instance_norm_cuda(
    x: Tensor,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    *,
    relu: bool = False,
) -> Tensor:
    """Instance normalisation by the ``cuda/instance_norm`` kernels, ReLU optionally fused.

    Same arguments as :func:`neuralstyle.ops.instance_norm.instance_norm` (``weight``, ``bias``:
    ``(C)`` or ``(N, C)``, or ``None``); differentiable once in ``x``, ``weight`` and ``bias``.
    """
    out: Tensor = _InstanceNorm.apply(x, weight, bias, eps, relu)
    return out


# ---- conditional instance norm ------------------------------------------------------------------


class _ConditionalInstanceNorm(torch.autograd.Function):
    @staticmethod
    def forward(  # noqa: PLR0917 -- Function.apply passes arguments by position
        ctx: Any,
        x: Tensor,
        style_weights: Tensor,
        gamma_table: Tensor,
        beta_table: Tensor,
        eps: float,
        relu: bool,
    ) -> Tensor:
        weights = _float32(style_weights)
        gammas, betas = _float32(gamma_table), _float32(beta_table)
        finalize = finalize_cin(weights, gammas, betas)
        xd, layout, y, coef = _forward(x, finalize, eps, 0.0, relu)
        ctx.save_for_backward(xd, coef, style_weights, gamma_table, beta_table)
        ctx.layout, ctx.relu = layout, relu
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, ...]:
        xd, coef, style_weights, gamma_table, beta_table = ctx.saved_tensors
        dx, sum_g, sum_gx = _backward(
            xd, ctx.layout, coef, dy, keep=0.0, relu=ctx.relu, corr=_cuda.positions(xd)
        )
        # gamma[b] = w[b] @ gamma_table: the tables' and weights' gradients are small matmuls.
        b = xd.shape[0]
        weights = _float32(style_weights).reshape(-1, gamma_table.shape[0]).expand(b, -1)
        dgamma_table = (weights.T @ sum_gx).to(gamma_table.dtype)
        dbeta_table = (weights.T @ sum_g).to(beta_table.dtype)
        dweights = sum_gx @ _float32(gamma_table).T + sum_g @ _float32(beta_table).T
        return dx, _grad_like(dweights, style_weights), dgamma_table, dbeta_table, None, None


def conditional_instance_norm_cuda(
    x: Tensor,
    style_weights: Tensor,
    gamma_table: Tensor,
    beta_table: Tensor,
    eps: float = 1e-5,
    *,
    relu: bool = False,
) -> Tensor:
    """Conditional instance normalisation with the style mix fused into the kernels.

    Same arguments as :func:`neuralstyle.ops.instance_norm.conditional_instance_norm`
    (``style_weights``: ``(S)`` or ``(N, S)``; tables ``(S, C)``); ``gamma = style_weights @
    gamma_table`` is formed per plane in float32, in style order. Differentiable once in every
    tensor argument.
    """
    out: Tensor = _ConditionalInstanceNorm.apply(
        x, style_weights, gamma_table, beta_table, eps, relu
    )
    return out


# ---- AdaIN --------------------------------------------------------------------------------------


class _AdaIN(torch.autograd.Function):
    @staticmethod
    def forward(  # noqa: PLR0917 -- Function.apply passes arguments by position
        ctx: Any,
        content: Tensor,
        style_mean: Tensor,
        style_std: Tensor,
        alpha: float,
        eps: float,
    ) -> Tensor:
        b, c = content.shape[:2]
        mean, std = _planes(style_mean, b, c), _planes(style_std, b, c)
        finalize = finalize_adain(mean, std, alpha)
        xd, layout, y, coef = _forward(content, finalize, eps, 1.0 - alpha, False)
        ctx.save_for_backward(xd, coef, style_mean, style_std)
        ctx.layout, ctx.alpha = layout, alpha
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, ...]:
        xd, coef, style_mean, style_std = ctx.saved_tensors
        n = _cuda.positions(xd)
        dx, sum_g, sum_gx = _backward(
            xd, ctx.layout, coef, dy, keep=1.0 - ctx.alpha, relu=False, corr=n - 1
        )
        b, c = xd.shape[:2]

        alpha: float = ctx.alpha

        def reduce_to(grad: Tensor, like: Tensor) -> Tensor:
            return (alpha * grad).reshape(b, c, 1, 1).sum_to_size(like.shape).to(like.dtype)

        return dx, reduce_to(sum_g, style_mean), reduce_to(sum_gx, style_std), None, None


def adain_cuda(
    content: Tensor,
    style_mean: Tensor,
    style_std: Tensor,
    alpha: float = 1.0,
    eps: float = 1e-5,
) -> Tensor:
    """AdaIN fused: the content is read once for its statistics and once for the output.

    Same arguments as :func:`neuralstyle.ops.adain.adain` with ``style_mean`` and ``style_std`` of
    shape ``(N, C, 1, 1)`` or ``(1, C, 1, 1)``; differentiable once in the three tensors.
    """
    out: Tensor = _AdaIN.apply(content, style_mean, style_std, alpha, eps)
    return out
