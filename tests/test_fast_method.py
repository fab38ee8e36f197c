"""Any image, fast (Ghiasi et al. 2017) through the engine: the paper's controls, the request's
default for images, and its weights' cache. The port itself is in test_arbitrary_net.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

import neuralstyle
from neuralstyle import metrics
from neuralstyle.errors import ModelError
from neuralstyle.methods import fast as fast_mod
from neuralstyle.models import arbitrary_weights as weights_mod

CPU = {"device": "cpu", "method": "fast"}


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    from skimage import data, transform

    img = transform.resize(data.chelsea(), (96, 128), anti_aliasing=True)
    return np.ascontiguousarray((img * 255 + 0.5).astype(np.uint8))


@pytest.fixture(scope="module")
def second_painting() -> np.ndarray:
    from skimage import data, transform

    img = transform.resize(data.rocket(), (112, 80), anti_aliasing=True)
    return np.ascontiguousarray((img * 255 + 0.5).astype(np.uint8))


def _f(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _t(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(_f(image)).permute(2, 0, 1)[None].contiguous()


def test_an_image_style_means_fast(photo: np.ndarray, painting: np.ndarray) -> None:
    by_default = neuralstyle.stylize(photo, painting, device="cpu")
    assert np.array_equal(by_default, neuralstyle.stylize(photo, painting, **CPU))


def test_strength_interpolates_the_style_vector_then_mixes_pixels(
    photo: np.ndarray, painting: np.ndarray
) -> None:
    out = neuralstyle.stylize(photo, painting, strength=0.5, **CPU).astype(np.float32)
    model = fast_mod.load_fast("cpu")
    x = _t(photo)
    style = model.style_vector(_t(painting))
    with torch.inference_mode():
        own = model.style_vector(x)
        painted = model.transformer(x, own + 0.5 * (style - own))
    net = painted[0].permute(1, 2, 0).numpy()
    expected = np.clip(photo + 0.5 * (net * 255.0 - photo), 0, 255).round()
    assert np.abs(out - expected).max() <= 1.0
    # Half strength is neither a cross-fade of none and full nor full strength.
    full = neuralstyle.stylize(photo, painting, **CPU).astype(np.float32)
    assert np.abs(out - (photo + full) / 2).mean() > 2.0
    assert np.abs(out - full).mean() > 5.0


def test_strength_zero_and_hard_mask_keep_the_source(
    photo: np.ndarray, painting: np.ndarray
) -> None:
    assert np.array_equal(neuralstyle.stylize(photo, painting, strength=0, **CPU), photo)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, 64:] = 1.0
    out = neuralstyle.stylize(photo, painting, mask=mask, **CPU)
    assert np.array_equal(out[:, :64], photo[:, :64])
    assert np.abs(out[:, 64:].astype(int) - photo[:, 64:]).mean() > 10


def test_two_styles_by_mask_and_by_blend(
    photo: np.ndarray, painting: np.ndarray, second_painting: np.ndarray
) -> None:
    a = neuralstyle.stylize(photo, painting, **CPU).astype(np.float32)
    b = neuralstyle.stylize(photo, second_painting, **CPU).astype(np.float32)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :64] = 1.0
    split = neuralstyle.stylize(
        photo, painting, second_style=second_painting, mask=mask, mask_mode="styles", **CPU
    ).astype(np.float32)
    left, right = np.s_[:, :40], np.s_[:, 88:]
    assert np.abs(split[left] - a[left]).mean() < np.abs(split[left] - b[left]).mean() / 2
    assert np.abs(split[right] - b[right]).mean() < np.abs(split[right] - a[right]).mean() / 2
    blends = [
        neuralstyle.stylize(photo, painting, second_style=second_painting, style_blend=w, **CPU)
        for w in (0.0, 1.0)
    ]
    assert np.abs(blends[0] - a).max() <= 1.0 and np.abs(blends[1] - b).max() <= 1.0


def test_it_keeps_the_subject_and_takes_the_style(photo: np.ndarray, painting: np.ndarray) -> None:
    """What the issue found broken in AdaIN: the subject must stay recognisable and the picture
    must move towards the style. On this pair: SSIM to the content 0.48 (AdaIN 0.14), style
    distance 0.58 (AdaIN 0.60; the unstylised photo 2.23). The panel: benchmarks/bm_arbitrary.py.
    """
    out = neuralstyle.stylize(photo, painting, **CPU)
    numbers = metrics.evaluate(photo, painting, out, device="cpu")
    assert numbers["ssim"] > 0.35
    assert numbers["style_distance"] < 0.5 * numbers["style_distance_content"]


def test_style_vectors_are_cached_per_style(
    photo: np.ndarray, painting: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = neuralstyle.stylize(photo, painting, **CPU)
    model = fast_mod.load_fast("cpu")
    seen: list[tuple[int, ...]] = []
    original = model.style_vector

    def counting(image: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(image.shape))
        return original(image)

    monkeypatch.setattr(model, "style_vector", counting)
    again = neuralstyle.stylize(photo, painting, **CPU)
    assert np.array_equal(first, again)
    assert seen == []  # the painting's vector is cached; full strength needs no frame vector
    neuralstyle.stylize(photo, painting, strength=0.5, **CPU)
    assert seen == [(1, 3, *photo.shape[:2])]  # only the frame's own, for the interpolation


# -- weights ----------------------------------------------------------------------------------


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEURALSTYLE_CACHE", str(folder))
    monkeypatch.delenv(weights_mod.ENV_WEIGHTS, raising=False)
    fast_mod.clear_cache()
    yield folder
    fast_mod.clear_cache()


def test_weights_converted_once_then_read_from_cache(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = weights_mod.load_arbitrary_weights()
    (path,) = isolated_cache.glob("ghiasi-arbitrary-*.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "neuralstyle.ghiasi.v1"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["source_sha256"])

    def no_conversion(*args: object) -> dict[str, torch.Tensor]:
        raise AssertionError("converted again although the cache is valid")

    monkeypatch.setattr(weights_mod, "convert_arbitrary_onnx", no_conversion)
    second = weights_mod.load_arbitrary_weights()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(k.startswith("predictor.") for k in first)
    assert any(k.startswith("transformer.") for k in first)


def test_sources_are_pinned_by_hash(isolated_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = dict(weights_mod.SOURCE_FILES)
    first = next(iter(pinned))
    monkeypatch.setattr(weights_mod, "SOURCE_FILES", {**pinned, first: "0" * 64})
    with pytest.raises(ModelError, match=r"expected 0000000000000000\.\.\. .*reinstall"):
        weights_mod.load_arbitrary_weights()
    assert not isolated_cache.exists()


def test_weights_override_must_be_the_network(
    isolated_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "td.safetensors"
    monkeypatch.setenv(weights_mod.ENV_WEIGHTS, str(target))
    with pytest.raises(ModelError, match=r"NEURALSTYLE_ARBITRARY_WEIGHTS=.*: no such file"):
        weights_mod.load_arbitrary_weights()
    from safetensors.torch import save_file

    save_file({"predictor.x": torch.zeros(2)}, str(target))
    with pytest.raises(ModelError, match="tensors of the fast arbitrary-style network"):
        weights_mod.load_arbitrary_weights()
