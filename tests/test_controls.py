"""Controls: colour preservation, blending weights, masks, stroke scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralstyle.controls import (
    MatchColorHistogram,
    RgbToYiq,
    YiqToRgb,
    finish_colour,
    frame_size_of,
    inside_outside,
    luminance,
    match_color_histogram,
    match_luminance,
    mix,
    mix_layers,
    normalize_weights,
    partition,
    prepare_colour,
    resize_image,
    resize_long_side,
    resize_mask,
    rgb_to_yiq,
    stroke_plan,
    transfer_chroma,
    upsample_consistent,
    yiq_to_rgb,
)
from neuralstyle.controls.scale import long_side_scale
from neuralstyle.errors import InputError


def _img(textured: np.ndarray, device: str = "cpu") -> torch.Tensor:
    return torch.from_numpy(textured).permute(2, 0, 1)[None].to(device)


class TestColour:
    def test_yiq_round_trip(self, device: str, textured: np.ndarray) -> None:
        x = _img(textured, device)
        torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5, rtol=0)
        torch.testing.assert_close(YiqToRgb()(RgbToYiq()(x)), x, atol=1e-5, rtol=0)

    def test_grey_has_no_chroma(self) -> None:
        grey = torch.full((1, 3, 4, 4), 0.3)
        yiq = rgb_to_yiq(grey)
        torch.testing.assert_close(yiq[:, 0], torch.full((1, 4, 4), 0.3))
        assert float(yiq[:, 1:].abs().max()) < 1e-6
        torch.testing.assert_close(luminance(grey), grey[:, :1])

    def test_transfer_chroma_keeps_content_chroma(self, textured: np.ndarray) -> None:
        content = 0.5 + (_img(textured) - 0.5) * 0.4  # stays in gamut after recombination
        g = torch.Generator().manual_seed(0)
        stylised = torch.rand(content.shape, generator=g) * 0.2 + 0.4
        out = transfer_chroma(stylised, content)
        torch.testing.assert_close(
            rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-5, rtol=0
        )
        torch.testing.assert_close(luminance(out), luminance(stylised), atol=1e-5, rtol=0)

    def test_match_luminance(self, textured: np.ndarray) -> None:
        content = _img(textured)
        style = torch.rand(1, 3, 20, 30)
        out = match_luminance(style, content)
        assert out.shape == style.shape
        assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
        lc = luminance(content)
        assert float(out[:, 0].mean()) == pytest.approx(float(lc.mean()), abs=1e-4)
        assert float(out[:, 0].std()) == pytest.approx(float(lc.std()), rel=1e-2)

    @pytest.mark.parametrize("mode", ["sym", "cholesky"])
    def test_histogram_matching_matches_mean_and_covariance(self, mode: str) -> None:
        g = torch.Generator().manual_seed(0)
        source = torch.rand(1, 3, 32, 32, generator=g) * 0.3 + torch.tensor([0.6, 0.2, 0.1]).view(
            1, 3, 1, 1
        )
        target = torch.rand(1, 3, 40, 24, generator=g) * 0.4 + 0.3
        out = match_color_histogram(source, target, mode)  # type: ignore[arg-type]
        f, t = out.flatten(2)[0], target.flatten(2)[0]
        torch.testing.assert_close(f.mean(1), t.mean(1), atol=1e-3, rtol=0)
        torch.testing.assert_close(torch.cov(f), torch.cov(t), atol=1e-3, rtol=0)
        torch.testing.assert_close(MatchColorHistogram(target, mode)(source), out)  # type: ignore[arg-type]

    def test_prepare_and_finish(self, textured: np.ndarray) -> None:
        content = _img(textured)
        style = torch.rand(1, 3, 16, 16)
        c, s = prepare_colour(content, [style], "none")
        assert c is content and s[0] is style
        c, s = prepare_colour(content, [style], "luminance")
        assert torch.equal(c[:, 0], c[:, 1]) and s[0].shape == style.shape
        c, s = prepare_colour(content, [style], "histogram")
        assert c is content and not torch.equal(s[0], style)
        assert finish_colour(style, content, "histogram") is style
        with pytest.raises(InputError, match="unknown colour mode 'sepia'"):
            prepare_colour(content, [style], "sepia")  # type: ignore[arg-type]

    def test_exception(self) -> None:
        with pytest.raises(
            InputError, match=r"expected image as a float \(N, 3, H, W\) RGB tensor"
        ):
            rgb_to_yiq(torch.rand(1, 4, 2, 2))
        with pytest.raises(InputError, match="must have the same size"):
            transfer_chroma(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 5, 4))
        with pytest.raises(InputError, match="unknown mode"):
            match_color_histogram(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), "lab")  # type: ignore[arg-type]


class TestBlend:
    def test_normalize_weights(self) -> None:
        assert normalize_weights(None, 4) == [0.25] * 4
        assert normalize_weights([1, 3], 2) == [0.25, 0.75]
        for bad, match in (
            ([1], "expected 2 style weights"),
            ([-1, 2], ">= 0"),
            ([0, 0], "all be zero"),
        ):
            with pytest.raises(InputError, match=match):
                normalize_weights(bad, 2)
        with pytest.raises(InputError, match="at least one style"):
            normalize_weights(None, 0)

    def test_mix(self) -> None:
        a, b = torch.ones(2, 2), torch.zeros(2, 2)
        torch.testing.assert_close(mix([a, b], [0.25, 0.75]), torch.full((2, 2), 0.25))
        out = mix_layers([{"x": a}, {"x": b}], [0.5, 0.5])
        torch.testing.assert_close(out["x"], torch.full((2, 2), 0.5))
        with pytest.raises(InputError, match="expected tensors of shape"):
            mix([a, torch.zeros(3)], [0.5, 0.5])


class TestSpatial:
    def test_partition_sums_to_one(self) -> None:
        a = torch.zeros(1, 1, 4, 4)
        a[..., :2] = 1.0
        b = torch.full((1, 1, 4, 4), 0.5)
        z = torch.zeros(1, 1, 4, 4)
        pa, pb, pz = partition([a, b, z])
        torch.testing.assert_close(pa + pb + pz, torch.ones(1, 1, 4, 4))
        torch.testing.assert_close(pa[..., :2], torch.full((1, 1, 4, 2), 2 / 3))
        torch.testing.assert_close(pb[..., 2:], torch.ones(1, 1, 4, 2))
        # nowhere covered: equal shares
        (p,) = partition([torch.zeros(1, 1, 2, 2)])
        torch.testing.assert_close(p, torch.ones(1, 1, 2, 2))

    def test_inside_outside(self) -> None:
        m = torch.linspace(0, 1, 8).view(1, 1, 1, 8)
        inside, outside = inside_outside(m)
        torch.testing.assert_close(inside + outside, torch.ones_like(m))

    def test_resize_mask_keeps_soft_edges(self) -> None:
        m = torch.zeros(1, 1, 16, 16)
        m[..., 5:] = 1.0
        small = resize_mask(m, (4, 4))
        assert small.shape == (1, 1, 4, 4)
        assert 0 < float(small[0, 0, 0, 1]) < 1  # the edge column becomes fractional
        assert float(resize_mask(m, (32, 32)).max()) <= 1.0

    def test_exception(self) -> None:
        with pytest.raises(InputError, match=r"float \(N, 1, H, W\) mask"):
            resize_mask(torch.zeros(1, 2, 4, 4), (2, 2))
        with pytest.raises(InputError, match="masks differ in shape"):
            partition([torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3)])


class TestStrokeScale:
    def test_full_render(self) -> None:
        plan = stroke_plan((1080, 2048))
        assert plan.working_size == plan.output_size == (1080, 2048)
        assert plan.style_long_side == 2048

    def test_scaled_proxy_keeps_style_to_frame_ratio(self) -> None:
        full = stroke_plan((1080, 2048), 1.0, 1.5)
        proxy = stroke_plan((1080, 2048), 0.5, 1.5)
        assert proxy.working_size == proxy.output_size == (540, 1024)
        assert proxy.style_long_side / proxy.working_size[1] == pytest.approx(
            full.style_long_side / full.working_size[1]
        )

    def test_exact_proxy_runs_at_full_size(self) -> None:
        plan = stroke_plan((1080, 2048), 0.25, 1.0, proxy="exact")
        assert plan.working_size == (1080, 2048) and plan.output_size == (270, 512)

    def test_memory_cap_shrinks_working_and_style_together(self) -> None:
        plan = stroke_plan((2000, 2000), 1.0, 2.0, max_working_pixels=1000 * 1000)
        assert plan.working_size == (1000, 1000) and plan.style_long_side == 2000

    def test_exception(self) -> None:
        with pytest.raises(InputError, match="render_scale > 0"):
            stroke_plan((10, 10), 0.0)
        with pytest.raises(InputError, match="positive frame size"):
            stroke_plan((0, 10))
        with pytest.raises(InputError, match="unknown proxy mode"):
            stroke_plan((10, 10), proxy="half")  # type: ignore[arg-type]

    def test_frame_size_of_a_proxy(self) -> None:
        assert frame_size_of((540, 960), 0.5) == (1080, 1920)
        assert frame_size_of((540, 960), 0.5, (1079, 1919)) == (1079, 1919)
        assert frame_size_of((540, 960), 1.0, (540, 960)) == (540, 960)
        with pytest.raises(InputError, match="is not a frame of 1920x1084"):
            frame_size_of((540, 960), 0.5, (1084, 1920))
        with pytest.raises(InputError, match="frame_size must be"):
            frame_size_of((540, 960), 0.5, (0, 1920))

    def test_frame_size_of_a_proxy_scaled_per_axis(self) -> None:
        # MLT's preview of 641x359 at 0.5 is 320x178: render scale (x, y) = (0.4992, 0.4958).
        scale = (320 / 641, 178 / 359)
        assert frame_size_of((178, 320), scale) == (359, 641)
        assert frame_size_of((178, 320), scale, (359, 641)) == (359, 641)
        with pytest.raises(InputError, match=r"641x362 at render scale \(0.49922, 0.495822\)"):
            frame_size_of((178, 320), scale, (362, 641))
        assert long_side_scale(scale, (359, 641)) == scale[0]
        assert long_side_scale(scale, (641, 359)) == scale[1]

    def test_upsampled_proxy_downsamples_back_to_itself(self, textured: np.ndarray) -> None:
        proxy = resize_image(_img(textured), (48, 80))
        size = (96, 160)

        def error(up: torch.Tensor) -> float:
            return float((resize_image(up, (48, 80)) - proxy).abs().mean())

        up = upsample_consistent(proxy, size)
        assert up.shape == (1, 3, 96, 160) and up.min() >= 0 and up.max() <= 1
        bicubic = resize_image(proxy, size)
        assert error(up) < 0.2 * error(bicubic)
        # the contrast a bicubic upsampling loses: more detail than bicubic, none invented
        # beyond the proxy's own (it still downsamples to it)
        assert float(up.std()) > float(bicubic.std())
        assert upsample_consistent(proxy, (48, 80)) is proxy
        with pytest.raises(InputError, match="smaller than"):
            upsample_consistent(proxy, (24, 160))

    def test_resize(self, textured: np.ndarray) -> None:
        x = _img(textured)
        assert resize_image(x, (48, 80)).shape == (1, 3, 48, 80)
        assert resize_image(x, (200, 300)).shape == (1, 3, 200, 300)
        assert resize_long_side(x, 80).shape == (1, 3, 48, 80)
        assert resize_image(x, tuple(x.shape[-2:])) is x  # type: ignore[arg-type]
