"""Instance norm and conditional instance norm against torch's own op and hand-written mixing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from neuralstyle.errors import InputError
from neuralstyle.ops import (
    ConditionalInstanceNorm2d,
    InstanceNorm2d,
    conditional_instance_norm,
    instance_norm,
)
from neuralstyle.ops.instance_norm import _instance_norm_reference


def _rand(*shape: int, device: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    # generate on the CPU so every device sees the same numbers
    g = torch.Generator().manual_seed(sum(shape) * 7919)
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


def _tol(dtype: torch.dtype) -> float:
    return 1e-5 if dtype == torch.float32 else 1e-10


class TestInstanceNorm:
    def test_smoke(self, device: str) -> None:
        x = _rand(2, 3, 8, 9, device=device)
        y = instance_norm(x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device

    @pytest.mark.parametrize("shape", [(1, 1, 5, 7), (2, 3, 4, 4), (3, 32, 17, 1), (1, 4, 1, 2)])
    def test_cardinality(self, device: str, shape: tuple[int, int, int, int]) -> None:
        n, c = shape[:2]
        x = _rand(*shape, device=device)
        assert instance_norm(x).shape == shape
        assert instance_norm(x, _rand(c, device=device), _rand(c, device=device)).shape == shape
        assert (
            instance_norm(x, _rand(n, c, device=device), _rand(n, c, device=device)).shape == shape
        )

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_feature_matches_torch(self, device: str, dtype: torch.dtype) -> None:
        x = _rand(2, 5, 13, 11, device=device, dtype=dtype) * 3.0 + 1.5
        w, b = _rand(5, device=device, dtype=dtype), _rand(5, device=device, dtype=dtype)
        tol = _tol(dtype)
        for eps in (1e-5, 1e-3):
            expected = F.instance_norm(x, weight=w, bias=b, eps=eps)
            torch.testing.assert_close(instance_norm(x, w, b, eps), expected, rtol=tol, atol=tol)
        torch.testing.assert_close(instance_norm(x), F.instance_norm(x), rtol=tol, atol=tol)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_feature_matches_reference(self, device: str, dtype: torch.dtype) -> None:
        x = _rand(3, 6, 9, 14, device=device, dtype=dtype) * 5.0 - 2.0
        w, b = _rand(3, 6, device=device, dtype=dtype), _rand(6, device=device, dtype=dtype)
        for weight, bias in ((None, None), (w, None), (None, b), (w, b)):
            torch.testing.assert_close(
                instance_norm(x, weight, bias, 1e-4),
                _instance_norm_reference(x, weight, bias, 1e-4),
                rtol=_tol(dtype),
                atol=_tol(dtype),
            )

    def test_feature_biased_variance_eps_inside_sqrt(self, device: str) -> None:
        x = _rand(1, 2, 6, 6, device=device, dtype=torch.float64)
        eps = 0.25  # large, so eps outside the sqrt or an unbiased variance would show
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(2, 3), keepdim=True)
        expected = (x - mean) / torch.sqrt(var + eps)
        torch.testing.assert_close(instance_norm(x, eps=eps), expected)
        torch.testing.assert_close(_instance_norm_reference(x, None, None, eps), expected)

    def test_feature_per_sample_affine(self, device: str) -> None:
        x = _rand(3, 4, 7, 6, device=device)
        w, b = _rand(3, 4, device=device), _rand(3, 4, device=device)
        y = instance_norm(x, w, b)
        for i in range(3):
            torch.testing.assert_close(y[i : i + 1], instance_norm(x[i : i + 1], w[i], b[i]))

    def test_exception(self, device: str) -> None:
        x = _rand(2, 3, 4, 4, device=device)
        with pytest.raises(InputError, match=r"expected a torch\.Tensor"):
            instance_norm([1.0, 2.0])  # type: ignore[arg-type]
        with pytest.raises(
            InputError, match=r"expected x of shape \(N, C, H, W\), got shape \(3, 4, 4\)"
        ):
            instance_norm(x[0])
        with pytest.raises(InputError, match="floating-point"):
            instance_norm(x.to(torch.int32))
        with pytest.raises(InputError, match="at least 2 pixels per plane"):
            instance_norm(x[..., :1, :1])
        with pytest.raises(InputError, match=r"expected weight of shape \(3,\) or \(2, 3\)"):
            instance_norm(x, weight=_rand(4, device=device))
        with pytest.raises(InputError, match="expected bias as float32"):
            instance_norm(x, bias=_rand(3, device=device, dtype=torch.float64))

    def test_gradcheck(self, device: str) -> None:
        x = _rand(2, 3, 5, 4, device=device, dtype=torch.float64).requires_grad_()
        w = _rand(3, device=device, dtype=torch.float64).requires_grad_()
        b = _rand(2, 3, device=device, dtype=torch.float64).requires_grad_()
        assert torch.autograd.gradcheck(instance_norm, (x, w, b))
        assert torch.autograd.gradcheck(
            lambda x, w, b: _instance_norm_reference(x, w, b, 1e-5), (x, w, b)
        )

    def test_module(self, device: str) -> None:
        x = _rand(2, 3, 6, 5, device=device)
        norm = InstanceNorm2d(3).to(device)
        with torch.no_grad():
            norm.weight.copy_(torch.tensor([0.5, 2.0, -1.0]))  # type: ignore[union-attr]
        torch.testing.assert_close(norm(x), instance_norm(x, norm.weight, norm.bias))
        plain = InstanceNorm2d(3, affine=False)
        assert list(plain.parameters()) == []
        torch.testing.assert_close(plain.to(device)(x), instance_norm(x))
        assert "affine=False" in repr(plain)


class TestConditionalInstanceNorm:
    S, C = 5, 4

    def _tables(
        self, device: str, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _rand(self.S, self.C, device=device, dtype=dtype), _rand(
            self.S, self.C + 100, device=device, dtype=dtype
        )[:, : self.C]

    def test_smoke(self, device: str) -> None:
        gamma, beta = self._tables(device)
        x = _rand(2, self.C, 8, 8, device=device)
        y = conditional_instance_norm(x, torch.eye(self.S, device=device)[1], gamma, beta)
        assert y.shape == x.shape and y.dtype == x.dtype

    @pytest.mark.parametrize("batch", [1, 3])
    def test_cardinality(self, device: str, batch: int) -> None:
        gamma, beta = self._tables(device)
        x = _rand(batch, self.C, 6, 7, device=device)
        shared = torch.full((self.S,), 1.0 / self.S, device=device)
        per_sample = torch.softmax(_rand(batch, self.S, device=device), dim=1)
        assert conditional_instance_norm(x, shared, gamma, beta).shape == x.shape
        assert conditional_instance_norm(x, per_sample, gamma, beta).shape == x.shape

    def test_feature_one_hot_selects_row(self, device: str) -> None:
        gamma, beta = self._tables(device)
        x = _rand(2, self.C, 9, 5, device=device)
        for s in range(self.S):
            one_hot = torch.eye(self.S, device=device)[s]
            torch.testing.assert_close(
                conditional_instance_norm(x, one_hot, gamma, beta),
                instance_norm(x, gamma[s], beta[s]),
            )

    def test_feature_mixing_is_manual_mix(self, device: str) -> None:
        gamma, beta = self._tables(device, torch.float64)
        x = _rand(2, self.C, 9, 5, device=device, dtype=torch.float64)
        w = torch.tensor([0.2, 0.0, 0.5, 0.0, 0.3], dtype=torch.float64, device=device)
        # parameters are mixed (one network between styles), not the normalised outputs
        g = sum(w[s] * gamma[s] for s in range(self.S))
        b = sum(w[s] * beta[s] for s in range(self.S))
        normalised = (x - x.mean(dim=(2, 3), keepdim=True)) / torch.sqrt(
            x.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5
        )
        expected = normalised * g.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)  # type: ignore[union-attr]
        torch.testing.assert_close(conditional_instance_norm(x, w, gamma, beta), expected)

    def test_feature_per_sample_weights(self, device: str) -> None:
        gamma, beta = self._tables(device)
        x = _rand(3, self.C, 6, 6, device=device)
        w = torch.softmax(_rand(3, self.S, device=device), dim=1)
        y = conditional_instance_norm(x, w, gamma, beta)
        for i in range(3):
            torch.testing.assert_close(
                y[i : i + 1], conditional_instance_norm(x[i : i + 1], w[i], gamma, beta)
            )

    def test_exception(self, device: str) -> None:
        gamma, beta = self._tables(device)
        x = _rand(2, self.C, 6, 6, device=device)
        w = torch.eye(self.S, device=device)[0]
        with pytest.raises(InputError, match=r"expected gamma_table of shape \(S, 4\)"):
            conditional_instance_norm(x, w, gamma[:, :3], beta)
        with pytest.raises(InputError, match="expected beta_table with 5 rows"):
            conditional_instance_norm(x, w, gamma, beta[:4])
        with pytest.raises(
            InputError,
            match=r"expected style_weights of shape \(5,\) or \(2, 5\), got shape \(6,\)",
        ):
            conditional_instance_norm(x, torch.zeros(6, device=device), gamma, beta)
        with pytest.raises(InputError, match="expected style_weights as float32"):
            conditional_instance_norm(x, w.double(), gamma, beta)

    def test_gradcheck(self, device: str) -> None:
        gamma, beta = self._tables(device, torch.float64)
        x = _rand(2, self.C, 4, 5, device=device, dtype=torch.float64).requires_grad_()
        w = torch.tensor(
            [0.1, 0.2, 0.3, 0.4, 0.0], dtype=torch.float64, device=device
        ).requires_grad_()
        gamma.requires_grad_()
        beta.requires_grad_()
        assert torch.autograd.gradcheck(conditional_instance_norm, (x, w, gamma, beta))

    def test_module(self, device: str) -> None:
        norm = ConditionalInstanceNorm2d(self.S, self.C).to(device)
        assert norm.gamma.shape == norm.beta.shape == (self.S, self.C)
        x = _rand(2, self.C, 6, 6, device=device)
        w = torch.eye(self.S, device=device)[2]
        # fresh tables are gamma 1, beta 0: plain normalisation
        torch.testing.assert_close(norm(x, w), instance_norm(x))
        assert "num_styles=5" in repr(norm)
