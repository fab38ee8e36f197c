"""Gram matrices: the torch reference against the formula, on any device.

Kernel-against-reference parity on a GPU lives in tests/test_cuda_kernels.py.
"""

from __future__ import annotations

import pytest
import torch

from neuralstyle.errors import InputError
from neuralstyle.ops.gram import GramMatrix, _gram_reference, gram_matrix


def _rand(*shape: int, device: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    # generate on the CPU so every device sees the same numbers
    g = torch.Generator().manual_seed(sum(shape) * 7919)
    return torch.rand(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _naive(f: torch.Tensor) -> torch.Tensor:
    """G[b, i, j] = sum_n F[b, i, n] F[b, j, n] / N, written as loops in float64."""
    b, c = f.shape[:2]
    flat = f.reshape(b, c, -1).double().cpu()
    n = flat.shape[-1]
    out = torch.empty(b, c, c, dtype=torch.float64)
    for s in range(b):
        for i in range(c):
            for j in range(c):
                out[s, i, j] = (flat[s, i] * flat[s, j]).sum() / n
    return out


class TestGramMatrix:
    def test_smoke(self, device: str) -> None:
        f = _rand(2, 3, 5, 7, device=device)
        g = gram_matrix(f)
        assert g.shape == (2, 3, 3) and g.dtype == torch.float32 and g.device == f.device

    @pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (2, 4, 10), (1, 2, 3, 4, 5)])
    def test_cardinality(self, device: str, shape: tuple[int, ...]) -> None:
        assert gram_matrix(_rand(*shape, device=device)).shape == (shape[0], shape[1], shape[1])

    def test_exception(self) -> None:
        with pytest.raises(InputError, match=r"expected a torch\.Tensor, got list"):
            gram_matrix([[1.0]])  # type: ignore[arg-type]
        with pytest.raises(InputError, match=r"\(B, C, \*spatial\), got shape \(3, 4\)"):
            gram_matrix(torch.rand(3, 4))
        with pytest.raises(InputError, match=r"floating-point features, got shape .* int64"):
            gram_matrix(torch.ones(1, 2, 3, dtype=torch.int64))
        with pytest.raises(InputError, match="non-empty"):
            gram_matrix(torch.rand(1, 2, 0, 3))

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_feature_matches_formula(self, device: str, dtype: torch.dtype) -> None:
        f = _rand(2, 5, 7, 3, device=device, dtype=dtype)
        tol = 1e-6 if dtype == torch.float32 else 1e-12
        torch.testing.assert_close(gram_matrix(f).cpu().double(), _naive(f), rtol=tol, atol=tol)

    def test_feature_symmetric(self, device: str) -> None:
        g = gram_matrix(_rand(3, 9, 11, 13, device=device))
        torch.testing.assert_close(g, g.transpose(1, 2), rtol=1e-6, atol=1e-7)

    def test_feature_channels_last(self, device: str) -> None:
        f = _rand(2, 6, 9, 5, device=device)
        cl = f.to(memory_format=torch.channels_last)
        torch.testing.assert_close(gram_matrix(cl), gram_matrix(f), rtol=1e-6, atol=1e-7)

    def test_feature_float16_does_not_overflow(self, device: str) -> None:
        # 300^2 summed over 4096 positions passes float16's 65504 after 1 position; the
        # float32 accumulation and float32 output keep the exact mean square 90000.
        f = torch.full((1, 2, 64, 64), 300.0, dtype=torch.float16, device=device)
        g = gram_matrix(f)
        assert g.dtype == torch.float32
        assert torch.equal(g, torch.full((1, 2, 2), 90000.0, device=device))

    def test_feature_bfloat16(self, device: str) -> None:
        f = _rand(2, 4, 6, 6, device=device).to(torch.bfloat16)
        expected = _gram_reference(f.float())
        torch.testing.assert_close(gram_matrix(f), expected, rtol=1e-6, atol=1e-7)

    def test_gradient_formula(self, device: str) -> None:
        # dF = (dG + dG^T) F / N: the contract of the kernel's backward.
        f = _rand(2, 4, 3, 5, device=device, dtype=torch.float64).requires_grad_()
        dg = _rand(2, 4, 4, device=device, dtype=torch.float64)
        (grad,) = torch.autograd.grad(gram_matrix(f), f, dg)
        flat = f.detach().reshape(2, 4, -1)
        expected = ((dg + dg.transpose(1, 2)) @ flat / flat.shape[-1]).reshape(f.shape)
        torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)

    def test_gradcheck(self) -> None:
        f = _rand(2, 3, 4, 5, device="cpu", dtype=torch.float64).requires_grad_()
        assert torch.autograd.gradcheck(gram_matrix, (f,))

    def test_module(self, device: str) -> None:
        f = _rand(1, 3, 4, 4, device=device)
        torch.testing.assert_close(GramMatrix()(f), gram_matrix(f))


def test_every_op_describes_a_refused_tensor_alike() -> None:
    from neuralstyle.ops.adain import adain
    from neuralstyle.ops.instance_norm import instance_norm

    ints = torch.ones(1, 2, 3, 3, dtype=torch.int64)
    stats = torch.ones(1, 2)
    for op in (
        lambda: gram_matrix(ints),
        lambda: instance_norm(ints),
        lambda: adain(ints, stats, stats),
    ):
        with pytest.raises(InputError, match=r"got shape \(1, 2, 3, 3\) int64 on cpu$"):
            op()
