"""AdaIN and calc_mean_std: the torch reference against the formula, on any device.

Kernel-against-reference parity on a GPU lives in tests/test_cuda_kernels.py.
"""

from __future__ import annotations

import pytest
import torch

from neuralstyle.errors import InputError
from neuralstyle.ops.adain import AdaIN, adain, calc_mean_std


def _rand(*shape: int, device: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    # generate on the CPU so every device sees the same numbers
    g = torch.Generator().manual_seed(sum(shape) * 104729)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _naive(
    content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, alpha: float, eps: float
) -> torch.Tensor:
    """The formula per plane, in float64 on the CPU."""
    x = content.double().cpu()
    out = torch.empty_like(x)
    n, c = x.shape[:2]
    m, s = mean.double().cpu().reshape(-1, c), std.double().cpu().reshape(-1, c)
    for b in range(n):
        for k in range(c):
            plane = x[b, k]
            mu = plane.mean()
            sigma = (((plane - mu) ** 2).sum() / (plane.numel() - 1) + eps).sqrt()
            styled = (plane - mu) / sigma * s[b % s.shape[0], k] + m[b % m.shape[0], k]
            out[b, k] = alpha * styled + (1 - alpha) * plane
    return out


class TestCalcMeanStd:
    def test_feature_matches_formula(self, device: str) -> None:
        f = _rand(2, 3, 5, 4, device=device) * 3 + 7
        mean, std = calc_mean_std(f, eps=1e-5)
        assert mean.shape == std.shape == (2, 3, 1, 1)
        flat = f.double().cpu().reshape(2, 3, -1)
        expected_std = (flat.var(dim=2, correction=1) + 1e-5).sqrt()
        torch.testing.assert_close(mean.cpu().double().reshape(2, 3), flat.mean(dim=2))
        torch.testing.assert_close(std.cpu().double().reshape(2, 3), expected_std)

    def test_dtype_kept(self, device: str) -> None:
        mean, std = calc_mean_std(_rand(1, 2, 4, 4, device=device, dtype=torch.float16))
        assert mean.dtype == std.dtype == torch.float16

    def test_exception(self) -> None:
        with pytest.raises(InputError, match="at least 2 positions"):
            calc_mean_std(torch.rand(1, 3, 1, 1))
        with pytest.raises(InputError, match=r"\(N, C, H, W\)"):
            calc_mean_std(torch.rand(3, 4, 4))


class TestAdaIN:
    def test_smoke(self, device: str) -> None:
        x = _rand(2, 3, 6, 5, device=device)
        y = adain(x, *calc_mean_std(_rand(2, 3, 4, 4, device=device)))
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device

    @pytest.mark.parametrize("alpha", [1.0, 0.3])
    def test_feature_matches_formula(self, device: str, alpha: float) -> None:
        x = _rand(2, 4, 7, 5, device=device) * 2 + 1
        mean, std = _rand(2, 4, 1, 1, device=device), _rand(2, 4, 1, 1, device=device).abs() + 0.5
        expected = _naive(x, mean, std, alpha, 1e-5)
        out = adain(x, mean, std, alpha).cpu().double()
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)

    def test_feature_takes_style_statistics(self, device: str) -> None:
        content, style = (
            _rand(1, 3, 16, 16, device=device),
            _rand(1, 3, 9, 9, device=device) * 4 + 2,
        )
        out = adain(content, *calc_mean_std(style))
        for got, want in zip(calc_mean_std(out), calc_mean_std(style), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)

    def test_feature_alpha_zero_is_content(self, device: str) -> None:
        x = _rand(2, 3, 4, 5, device=device)
        assert torch.equal(adain(x, *calc_mean_std(_rand(2, 3, 4, 4, device=device)), 0.0), x)

    def test_feature_statistic_shapes(self, device: str) -> None:
        x = _rand(2, 3, 4, 5, device=device)
        mean, std = _rand(1, 3, device=device), _rand(1, 3, device=device).abs() + 0.1
        expected = adain(
            x, mean.expand(2, 3).reshape(2, 3, 1, 1), std.expand(2, 3).reshape(2, 3, 1, 1)
        )
        for m, s in ((mean, std), (mean.reshape(1, 3, 1, 1), std.reshape(1, 3, 1, 1))):
            torch.testing.assert_close(adain(x, m, s), expected)

    def test_feature_half_precision(self, device: str) -> None:
        x = _rand(1, 2, 8, 8, device=device)
        mean, std = _rand(1, 2, 1, 1, device=device), _rand(1, 2, 1, 1, device=device).abs() + 0.5
        expected = adain(x, mean, std)
        half = adain(x.half(), mean.half(), std.half())
        assert half.dtype == torch.float16
        torch.testing.assert_close(half.float(), expected, rtol=2e-3, atol=2e-3)

    def test_exception(self) -> None:
        x = torch.rand(2, 3, 4, 4)
        m, s = torch.rand(2, 3, 1, 1), torch.rand(2, 3, 1, 1)
        with pytest.raises(InputError, match="expected style_mean of shape"):
            adain(x, torch.rand(3, 3), s)
        with pytest.raises(InputError, match="style_std as float32 on cpu like the content"):
            adain(x, m, s.double())
        with pytest.raises(InputError, match=r"alpha in \[0, 1\], got 1.5"):
            adain(x, m, s, alpha=1.5)
        with pytest.raises(InputError, match="at least 2 positions"):
            adain(torch.rand(2, 3, 1, 1), m, s)
        with pytest.raises(InputError, match=r"expected a torch\.Tensor"):
            adain("content", m, s)  # type: ignore[arg-type]

    def test_gradcheck(self) -> None:
        x = _rand(2, 3, 3, 4, device="cpu", dtype=torch.float64).requires_grad_()
        m = _rand(2, 3, 1, 1, device="cpu", dtype=torch.float64).requires_grad_()
        s = (_rand(1, 3, 1, 1, device="cpu", dtype=torch.float64).abs() + 0.5).requires_grad_()
        assert torch.autograd.gradcheck(lambda a, b, c: adain(a, b, c, 0.7), (x, m, s))

    def test_module(self, device: str) -> None:
        content, style = _rand(2, 3, 5, 5, device=device), _rand(1, 3, 7, 6, device=device)
        expected = adain(content, *calc_mean_std(style), 0.5)
        torch.testing.assert_close(AdaIN()(content, style, alpha=0.5), expected)
