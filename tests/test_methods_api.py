"""The three methods and their controls through the one API call (``neuralstyle.stylize``) and the
CLI: method choice, strength, blending, masks, colour preservation, stroke scale, proxies, seeds,
progress and abort. Small frames, few optimisation steps: behaviour, not quality (that is
benchmarks/bm_methods.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle import metrics
from neuralstyle.cli import main
from neuralstyle.controls import resize_long_side, rgb_to_yiq
from neuralstyle.engine.request import StyleRequest
from neuralstyle.engine.style_source import StyleImage
from neuralstyle.errors import InputError
from neuralstyle.io.images import read_image, write_image

CPU = {"device": "cpu"}
ADAIN = {"device": "cpu", "method": "adain"}


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    """A real photograph as the style (scikit-image's chelsea), 72x96 uint8."""
    from skimage import data, transform

    img = transform.resize(data.chelsea(), (72, 96), anti_aliasing=True)
    return np.ascontiguousarray((img * 255 + 0.5).astype(np.uint8))


@pytest.fixture(scope="module")
def second_painting() -> np.ndarray:
    from skimage import data, transform

    img = transform.resize(data.rocket(), (80, 64), anti_aliasing=True)
    return np.ascontiguousarray((img * 255 + 0.5).astype(np.uint8))


def _f(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _chroma_diff(result: np.ndarray, content: np.ndarray) -> float:
    def iq(a: np.ndarray) -> torch.Tensor:
        return rgb_to_yiq(torch.from_numpy(_f(a)).permute(2, 0, 1)[None])[:, 1:]

    return float((iq(result) - iq(content)).abs().mean())


def _downsample(image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(_f(image)).permute(2, 0, 1)[None]
    return torch.nn.functional.avg_pool2d(x, 2)[0].permute(1, 2, 0).numpy()


class TestRequest:
    def test_method_follows_the_style(self, painting: np.ndarray, tmp_path: Path) -> None:
        path = tmp_path / "p.png"
        write_image(path, painting)
        assert StyleRequest.create("mosaic").method == "builtin"
        assert StyleRequest.create(3).method == "builtin"
        # An image means "Any image: fast" (issue 11): the trained network, not AdaIN.
        assert StyleRequest.create(painting).method == "fast"
        assert StyleRequest.create(str(path)).method == "fast"
        assert StyleRequest.create(path, method="optimize").method == "optimize"

    def test_params_ignore_what_the_method_does_not_read(self, tmp_path: Path) -> None:
        path = tmp_path / "p.png"
        write_image(path, np.zeros((20, 20, 3), np.uint8))
        node = {"style": "mosaic", "style_file": str(path), "seed": 5, "quality": "high"}
        assert StyleRequest.from_params(node) == StyleRequest.create("mosaic")
        adain = StyleRequest.from_params({**node, "method": "adain"})
        assert adain.style == StyleImage.from_file(path) and adain.seed is None
        opt = StyleRequest.from_params({**node, "method": "optimize", "style_weight": 50.0})
        assert (opt.seed, opt.quality, opt.style_weight, opt.init) == (5, "high", 50.0, "content")

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"style": "mosaic", "seed": 1}, "seed: only for method optimize, not builtin"),
            ({"style": "mosaic", "method": "adain"}, "takes a style image"),
            ({"style": "mosaic", "preserve_colour": "histogram"}, "the built-in styles have none"),
            ({"style": "mosaic", "mask_mode": "styles"}, "set a second style"),
            ({"style": "mosaic", "stroke_scale": 0.0}, "stroke_scale must be from 0.1 to 10"),
            ({"style": "mosaic", "method": "paint"}, "method must be one of builtin, adain"),
            ({"style": "mosiac"}, "did you mean mosaic"),
        ],
    )
    def test_unsupported_or_bad_settings(self, kwargs: dict[str, object], match: str) -> None:
        with pytest.raises(InputError, match=match):
            StyleRequest.create(**kwargs)  # type: ignore[arg-type]

    def test_builtin_refuses_an_image(self, painting: np.ndarray) -> None:
        with pytest.raises(InputError, match="builtin method takes a built-in style name"):
            StyleRequest.create(painting, method="builtin")
        with pytest.raises(InputError, match="method fast, adain or optimize"):
            neuralstyle.stylize(painting, "cat.png", method="builtin")

    def test_node_needs_a_style_file(self) -> None:
        with pytest.raises(InputError, match="set the style file"):
            StyleRequest.from_params({"method": "adain"})


class TestAdaIN:
    def test_strength_is_the_feature_space_alpha(
        self, photo: np.ndarray, painting: np.ndarray
    ) -> None:
        from neuralstyle.methods.adain import load_adain

        out = neuralstyle.stylize(photo, painting, strength=0.5, **ADAIN)
        model = load_adain("cpu")
        x = torch.from_numpy(_f(photo)).permute(2, 0, 1)[None]
        s = resize_long_side(torch.from_numpy(_f(painting)).permute(2, 0, 1)[None], 128)
        with torch.inference_mode():
            direct = model.stylize(x, [model.style_statistics(s)], alpha=0.5)
        expected = (direct[0].permute(1, 2, 0).numpy() * 255).round()
        assert np.abs(out.astype(np.float32) - expected).max() <= 1.0
        # Not a mix of pictures: half strength is no cross-fade of none and full.
        full = neuralstyle.stylize(photo, painting, **ADAIN).astype(np.float32)
        fade = (photo.astype(np.float32) + full) / 2
        assert np.abs(out - fade).mean() > 5.0

    def test_strength_zero_and_hard_mask_keep_the_source(
        self, photo: np.ndarray, painting: np.ndarray
    ) -> None:
        assert np.array_equal(neuralstyle.stylize(photo, painting, strength=0, **ADAIN), photo)
        mask = np.zeros(photo.shape[:2], np.float32)
        mask[:, 64:] = 1.0
        out = neuralstyle.stylize(photo, painting, mask=mask, **ADAIN)
        assert np.array_equal(out[:, :64], photo[:, :64])
        assert np.abs(out[:, 64:].astype(int) - photo[:, 64:]).mean() > 10

    def test_two_styles_by_mask_and_by_blend(
        self, photo: np.ndarray, painting: np.ndarray, second_painting: np.ndarray
    ) -> None:
        a = neuralstyle.stylize(photo, painting, **ADAIN).astype(np.float32)
        b = neuralstyle.stylize(photo, second_painting, **ADAIN).astype(np.float32)
        mask = np.zeros(photo.shape[:2], np.float32)
        mask[:, :64] = 1.0
        split = neuralstyle.stylize(
            photo, painting, second_style=second_painting, mask=mask, mask_mode="styles", **ADAIN
        ).astype(np.float32)
        left, right = np.s_[:, :40], np.s_[:, 88:]  # away from the edge (receptive fields)
        assert np.abs(split[left] - a[left]).mean() < np.abs(split[left] - b[left]).mean() / 2
        assert np.abs(split[right] - b[right]).mean() < np.abs(split[right] - a[right]).mean() / 2
        ones = np.ones_like(mask)
        inside = neuralstyle.stylize(
            photo, painting, second_style=second_painting, mask=ones, mask_mode="styles", **ADAIN
        )
        assert np.abs(inside - a).max() <= 1.0
        blend0 = neuralstyle.stylize(
            photo, painting, second_style=second_painting, style_blend=0.0, **ADAIN
        )
        assert np.abs(blend0 - a).max() <= 1.0
        half = neuralstyle.stylize(
            photo, painting, second_style=second_painting, style_blend=0.5, **ADAIN
        ).astype(np.float32)
        assert np.abs(half - a).mean() > 3 and np.abs(half - b).mean() > 3


class TestControls:
    @pytest.mark.parametrize("method", ["builtin", "adain", "fast"])
    def test_luminance_keeps_the_content_chroma(
        self, photo: np.ndarray, painting: np.ndarray, method: str
    ) -> None:
        style: object = "mosaic" if method == "builtin" else painting
        plain = neuralstyle.stylize(photo, style, method=method, **CPU)  # type: ignore[arg-type]
        kept = neuralstyle.stylize(
            photo,
            style,
            method=method,
            preserve_colour="luminance",
            **CPU,  # type: ignore[arg-type]
        )
        assert _chroma_diff(kept, photo) < 0.2 * _chroma_diff(plain, photo)

    def test_histogram_takes_the_content_palette(
        self, photo: np.ndarray, painting: np.ndarray
    ) -> None:
        blue = (painting * np.array([0.2, 0.4, 1.0])).astype(np.uint8)  # far from the content
        plain = neuralstyle.stylize(photo, blue, **CPU)
        matched = neuralstyle.stylize(photo, blue, preserve_colour="histogram", **CPU)
        mean = _f(photo).mean(axis=(0, 1))
        assert (
            np.abs(_f(matched).mean(axis=(0, 1)) - mean).sum()
            < np.abs(_f(plain).mean(axis=(0, 1)) - mean).sum()
        )

    @pytest.mark.parametrize("method", ["builtin", "adain", "fast"])
    def test_stroke_scale_makes_larger_strokes(
        self, photo: np.ndarray, painting: np.ndarray, method: str
    ) -> None:
        style: object = "mosaic" if method == "builtin" else painting

        def detail(scale: float) -> float:
            out = _f(neuralstyle.stylize(photo, style, method=method, stroke_scale=scale, **CPU))  # type: ignore[arg-type]
            return float(np.abs(np.diff(out, axis=1)).mean() + np.abs(np.diff(out, axis=0)).mean())

        assert detail(2.0) < 0.85 * detail(1.0)

    @pytest.mark.parametrize("method", ["builtin", "adain", "fast"])
    def test_proxy_looks_like_the_full_render_downsampled(
        self, photo: np.ndarray, painting: np.ndarray, method: str
    ) -> None:
        style: object = "mosaic" if method == "builtin" else painting
        full = neuralstyle.stylize(photo, style, method=method, **CPU)  # type: ignore[arg-type]
        half_in = (_downsample(photo) * 255 + 0.5).astype(np.uint8)
        proxy = neuralstyle.stylize(half_in, style, method=method, render_scale=0.5, **CPU)  # type: ignore[arg-type]
        assert metrics.ssim(_f(proxy), _downsample(full)) >= 0.9
        naive = neuralstyle.stylize(half_in, style, method=method, **CPU)  # type: ignore[arg-type]
        assert metrics.ssim(_f(naive), _downsample(full)) < metrics.ssim(
            _f(proxy), _downsample(full)
        )

    def test_builtin_two_styles_by_mask_are_exact(self, photo: np.ndarray) -> None:
        a = neuralstyle.stylize(photo, "mosaic", **CPU)
        b = neuralstyle.stylize(photo, 3, **CPU)
        mask = np.zeros(photo.shape[:2], np.float32)
        mask[:, :50] = 1.0
        split = neuralstyle.stylize(
            photo, "mosaic", second_style=3, mask=mask, mask_mode="styles", **CPU
        )
        assert np.array_equal(split[:, :50], a[:, :50])
        assert np.array_equal(split[:, 50:], b[:, 50:])


class TestOptimize:
    def test_seed_progress_and_mask(self, photo: np.ndarray, painting: np.ndarray) -> None:
        small = np.ascontiguousarray(photo[::2, ::2])
        seen: list[float] = []
        kw = {"method": "optimize", "init": "noise", "steps": 3, **CPU}
        a = neuralstyle.stylize(small, painting, seed=1, progress=seen.append, **kw)
        assert np.array_equal(a, neuralstyle.stylize(small, painting, seed=1, **kw))
        assert not np.array_equal(a, neuralstyle.stylize(small, painting, seed=2, **kw))
        assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3
        mask = np.zeros(small.shape[:2], np.float32)
        mask[:32] = 1.0
        masked = neuralstyle.stylize(small, painting, mask=mask, seed=1, **kw)
        assert np.array_equal(masked[32:], small[32:])
        assert np.abs(masked[:32].astype(int) - small[:32]).mean() > 10

    def test_abort_from_progress(self, photo: np.ndarray, painting: np.ndarray) -> None:
        class StopError(Exception):
            pass

        def stop(fraction: float) -> None:
            if fraction > 0.3:
                raise StopError

        with pytest.raises(StopError):
            neuralstyle.stylize(
                photo[::2, ::2].copy(), painting, method="optimize", steps=10, progress=stop, **CPU
            )

    def test_working_resolution_runs_smaller_and_keeps_the_strokes(
        self, photo: np.ndarray, painting: np.ndarray, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from neuralstyle.methods import optimize

        seen: list[tuple[tuple[int, ...], int]] = []
        original = optimize.stylize_optimize

        def spy(content: torch.Tensor, styles: list[torch.Tensor], **kw: object) -> torch.Tensor:
            seen.append((tuple(content.shape[-2:]), int(kw["style_long_side"])))  # type: ignore[call-overload]
            return original(content, styles, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(optimize, "stylize_optimize", spy)
        kw = {"method": "optimize", "steps": 2, **CPU}
        full = neuralstyle.stylize(photo, painting, **kw)
        half = neuralstyle.stylize(photo, painting, working_resolution=0.5, **kw)
        assert half.shape == full.shape == photo.shape
        (full_size, full_style), (half_size, half_style) = seen
        assert full_size == photo.shape[:2] and half_size == (64, 64)
        assert half_style * 2 == full_style  # the style shrinks with the frame: same strokes
        with pytest.raises(InputError, match=r"working_resolution must be from 0\.05 to 1"):
            neuralstyle.stylize(photo, painting, working_resolution=2.0, **kw)
        with pytest.raises(InputError, match="working_resolution: only for method optimize"):
            neuralstyle.stylize(photo, painting, working_resolution=0.5, **CPU)


class TestCLI:
    def test_adain_file_equals_the_api(
        self, tmp_path: Path, photo: np.ndarray, painting: np.ndarray
    ) -> None:
        content, style, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "o.png"
        write_image(content, photo)
        write_image(style, painting)
        args = [
            "stylize",
            str(content),
            "-o",
            str(out),
            "--style",
            str(style),
            "--device",
            "cpu",
            "--strength",
            "0.7",
            "--preserve-colour",
            "luminance",
            "--stroke-scale",
            "1.5",
        ]
        assert main(args) == 0
        expected = neuralstyle.stylize(
            photo, painting, strength=0.7, preserve_colour="luminance", stroke_scale=1.5, **CPU
        )
        assert np.array_equal(read_image(out), expected)

    def test_optimize_options_and_mask_modes(
        self,
        tmp_path: Path,
        photo: np.ndarray,
        painting: np.ndarray,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        content, style, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "o.png"
        small = np.ascontiguousarray(photo[::2, ::2])
        write_image(content, small)
        write_image(style, painting)
        args = [
            "stylize",
            str(content),
            "-o",
            str(out),
            "--style",
            str(style),
            "--method",
            "optimize",
            "--steps",
            "2",
            "--seed",
            "4",
            "--init",
            "noise",
            "--style-weight",
            "50",
            "--optimize-quality",
            "draft",
            "--device",
            "cpu",
        ]
        assert main(args) == 0
        expected = neuralstyle.stylize(
            small,
            painting,
            method="optimize",
            steps=2,
            seed=4,
            init="noise",
            style_weight=50.0,
            quality="draft",
            **CPU,
        )
        assert np.array_equal(read_image(out), expected)
        log = capsys.readouterr().err
        assert "method=optimize" in log and "seed=4" in log and "style_weight=50.0" in log
        assert (
            main(
                [
                    "stylize",
                    str(content),
                    "-o",
                    str(out),
                    "--style",
                    "mosaic",
                    "--second-style",
                    "3",
                    "--mask-mode",
                    "styles",
                ]
            )
            == 2
        )
        assert "--mask-mode styles needs --mask" in capsys.readouterr().err

    def test_eval_prints_and_reports(
        self,
        tmp_path: Path,
        photo: np.ndarray,
        painting: np.ndarray,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        content, style, result = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "r.png"
        write_image(content, photo)
        write_image(style, painting)
        write_image(result, neuralstyle.stylize(photo, painting, **CPU))
        assert (
            main(
                [
                    "eval",
                    str(content),
                    str(style),
                    str(result),
                    "--json",
                    "-o",
                    str(tmp_path / "report.html"),
                ]
            )
            == 0
        )
        numbers = json.loads(capsys.readouterr().out)
        assert set(numbers) == {
            "ssim",
            "psnr",
            "content_loss",
            "style_distance",
            "ssi",
            "ssi_content",
            "style_distance_content",
        }
        assert numbers["ssi"] > numbers["ssi_content"]  # the result moved towards the style
        assert "<table" in (tmp_path / "report.html").read_text()
        assert (
            main(
                ["eval", str(content), str(style), str(result), "-o", str(tmp_path / "report.png")]
            )
            == 0
        )
        assert read_image(tmp_path / "report.png").shape[1] > 3 * 128
        assert main(["eval", str(content), str(style), str(tmp_path / "nope.png")]) == 4
