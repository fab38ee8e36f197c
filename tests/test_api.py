"""neuralstyle.stylize with the real network: shapes, pass-through, strength, masks, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import neuralstyle
from neuralstyle.engine.request import StyleRequest
from neuralstyle.errors import DeviceError, InputError

DTYPES = (np.uint8, np.uint16, np.float16, np.float32)


def _as(image: np.ndarray, dtype: type, channels: int) -> np.ndarray:
    """``image`` (float RGB in [0, 1]) as ``dtype`` with ``channels`` (alpha is a ramp)."""
    h, w, _ = image.shape
    alpha = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :].repeat(h, 0)[..., None]
    rgba = np.concatenate([image * alpha, alpha], axis=2)  # premultiplied
    pixels = {1: alpha, 3: image, 4: rgba}[channels]
    if np.dtype(dtype).kind == "u":
        top = np.iinfo(dtype).max
        return np.rint(pixels * top).astype(dtype)
    return (pixels * 1.5).astype(dtype)  # some highlights above 1


@pytest.fixture(scope="module")
def small(textured: np.ndarray) -> np.ndarray:
    return textured[:24, :40]


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_and_channel_count(small: np.ndarray, dtype: type, channels: int) -> None:
    img = _as(small, dtype, channels)
    out = neuralstyle.stylize(img, 5, device="cpu")
    assert out.shape == img.shape and out.dtype == img.dtype
    assert np.isfinite(out.astype(np.float32)).all()
    if channels == 1:
        assert np.array_equal(out, img)  # alpha only: passed through
    else:
        assert not np.array_equal(out[..., :3], img[..., :3])
        assert np.array_equal(out[..., 3:], img[..., 3:])  # alpha bit-exact


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_strength_zero_is_bit_exact(small: np.ndarray, dtype: type, channels: int) -> None:
    img = _as(small, dtype, channels)
    if np.dtype(dtype).kind == "f":
        img[0, 0, 0] = -0.0  # even the sign of zero survives
    out = neuralstyle.stylize(img, 3, strength=0.0, device="cpu")
    assert out.tobytes() == img.tobytes()
    assert out is not img


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_mask_regions_are_bit_exact(small: np.ndarray, dtype: type) -> None:
    img = _as(small, dtype, 4)
    mask = np.zeros(img.shape[:2], np.float32)
    mask[:, 20:] = 1.0
    mask[5:9, 20:30] = 0.0
    out = neuralstyle.stylize(img, 8, mask=mask, device="cpu")
    keep = mask == 0
    assert out[keep].tobytes() == img[keep].tobytes()
    assert not np.array_equal(out[~keep][:, :3], img[~keep][:, :3])
    full = neuralstyle.stylize(img, 8, device="cpu")
    assert np.array_equal(out[~keep], full[~keep])  # mask 1 is the full effect


def test_all_zero_mask_is_a_copy(small: np.ndarray) -> None:
    img = _as(small, np.float16, 3)
    out = neuralstyle.stylize(img, mask=np.zeros((*img.shape[:2], 1), np.uint8), device="cpu")
    assert out.tobytes() == img.tobytes()


def test_strength_blends_linearly(small: np.ndarray) -> None:
    img = _as(small, np.float32, 3)
    full = neuralstyle.stylize(img, 2, strength=1.0, device="cpu")
    half = neuralstyle.stylize(img, 2, strength=0.5, device="cpu")
    np.testing.assert_allclose(half, (img + full) / 2, atol=1e-5)
    # a half-strength mask is the same as half strength
    masked = neuralstyle.stylize(img, 2, mask=np.full(img.shape[:2], 0.5, np.float32), device="cpu")
    np.testing.assert_allclose(masked, half, atol=1e-6)


def test_same_call_same_bits_and_styles_differ(small: np.ndarray) -> None:
    img = _as(small, np.uint8, 3)
    a = neuralstyle.stylize(img, 4, device="cpu")
    assert np.array_equal(a, neuralstyle.stylize(img, "4", device="cpu"))
    name = neuralstyle.styles()[4].name
    assert np.array_equal(a, neuralstyle.stylize(img, name.upper(), device="cpu"))
    assert not np.array_equal(a, neuralstyle.stylize(img, 5, device="cpu"))


def test_style_blend_ends_are_the_single_styles(small: np.ndarray) -> None:
    img = _as(small, np.uint8, 3)
    one = neuralstyle.stylize(img, 1, device="cpu")
    two = neuralstyle.stylize(img, 2, device="cpu")
    blend = dict(second_style=2, device="cpu")
    assert np.array_equal(neuralstyle.stylize(img, 1, style_blend=0.0, **blend), one)
    assert np.array_equal(neuralstyle.stylize(img, 1, style_blend=1.0, **blend), two)
    mid = neuralstyle.stylize(img, 1, style_blend=0.5, **blend)
    assert not np.array_equal(mid, one) and not np.array_equal(mid, two)


def test_input_is_not_modified_and_views_work(small: np.ndarray) -> None:
    img = _as(small, np.float32, 4)
    before = img.copy()
    view = img[::-1, ::2]  # negative and non-unit strides
    out = neuralstyle.stylize(view, 6, device="cpu")
    assert np.array_equal(img, before)
    assert np.array_equal(out, neuralstyle.stylize(np.ascontiguousarray(view), 6, device="cpu"))


def test_styles_lists_26() -> None:
    styles = neuralstyle.styles()
    assert len(styles) == 26
    assert [s.index for s in styles] == list(range(26))
    assert len({s.name for s in styles}) == 26


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (np.zeros((8, 8, 3), np.float64), "float64"),
        (np.zeros((8, 8), np.float32), "shape (8, 8)"),
        (np.zeros((8, 8, 2), np.float32), "shape (8, 8, 2)"),
        (np.zeros((0, 8, 3), np.float32), "empty"),
        ([[0.0]], "list"),
    ],
)
def test_bad_images(image: object, words: str) -> None:
    with pytest.raises(InputError, match=r"expected|empty") as info:
        neuralstyle.stylize(image, device="cpu")  # type: ignore[arg-type]
    assert words in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused(small: np.ndarray, bad: float) -> None:
    img = _as(small, np.float16, 4)
    img[3, 4, 1] = bad
    with pytest.raises(InputError, match="1 NaN or infinite value"):
        neuralstyle.stylize(img, device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"strength": 1.5}, "strength must be from 0 to 1"),
        ({"strength": -0.1}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"strength": True}, "strength must be a number"),
        ({"strength": "1"}, "strength must be a number"),
        ({"style_blend": 2.0, "second_style": 1}, "style_blend"),
        ({"style": "no-such-style"}, "style: unknown style 'no-such-style'"),
        ({"style": 26}, "style index must be 0 to 25"),
        ({"second_style": "nope"}, "second_style: unknown style"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
        ({"premultiplied": 1}, "premultiplied"),
        ({"mask": np.zeros((3, 3), np.float32)}, "mask of shape"),
        ({"mask": np.zeros((24, 40), np.float64)}, "mask values, got float64"),
        ({"mask": np.full((24, 40), np.nan, np.float32)}, "mask has"),
    ],
)
def test_bad_settings(small: np.ndarray, kwargs: dict[str, object], words: str) -> None:
    style = kwargs.pop("style", 0)
    with pytest.raises(InputError) as info:
        neuralstyle.stylize(small, style, **kwargs)  # type: ignore[arg-type]
    assert words in str(info.value)


def test_cuda_without_a_gpu_is_a_device_error(small: np.ndarray) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="CUDA requested but no CUDA device is available"):
        neuralstyle.stylize(small, device="cuda")


def test_request_from_params_matches_create() -> None:
    a = StyleRequest.from_params(
        {"style": "3", "second_style": "", "style_blend": 0.7, "strength": 1, "device": "cpu"}
    )
    assert a == StyleRequest.create(3, None, 0.2, 1.0, "cpu")  # blend is moot without a second
    assert StyleRequest.from_params({}) == StyleRequest.create()
    with pytest.raises(InputError, match="unknown parameter colour; expected keys"):
        StyleRequest.from_params({"colour": 1})
    with pytest.raises(InputError, match="style must be a style name"):
        StyleRequest.from_params({"style": 3})


def test_import_is_cheap_and_has_no_side_effects(tmp_path) -> None:
    code = (
        "import sys, neuralstyle, neuralstyle.host, neuralstyle.cli, neuralstyle.engine;"
        "assert callable(neuralstyle.stylize) and callable(neuralstyle.styles);"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {"HOME": str(tmp_path), "PYTHONPATH": _package_root()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written (no cache folders, no files)


def _package_root() -> str:
    import os

    return os.path.dirname(os.path.dirname(neuralstyle.__file__))


@pytest.mark.parametrize(
    ("kwargs", "plain"),
    [
        ({"strength": np.float32(0.5)}, {"strength": 0.5}),
        ({"strength": np.array(0.5, np.float16)}, {"strength": 0.5}),
        ({"strength": np.int64(1)}, {"strength": 1.0}),
        ({"style": np.int64(4)}, {"style": 4}),
        ({"style": np.array(4, np.uint8)}, {"style": 4}),
        (
            {"second_style": np.int32(2), "style_blend": np.float32(0.25)},
            {"second_style": 2, "style_blend": 0.25},
        ),
        ({"stroke_scale": np.float32(1.5)}, {"stroke_scale": 1.5}),
        ({"render_scale": np.float32(0.5)}, {"render_scale": 0.5}),
        (
            {"render_scale": np.float32(0.5), "frame_size": (np.int64(48), np.int64(80))},
            {"render_scale": 0.5, "frame_size": (48, 80)},
        ),
        (
            {"render_scale": np.float32(0.5), "frame_size": np.array([48, 80])},
            {"render_scale": 0.5, "frame_size": (48, 80)},
        ),
        ({"premultiplied": np.bool_(False)}, {"premultiplied": False}),
    ],
)
def test_numpy_scalars_are_numbers(
    small: np.ndarray, kwargs: dict[str, object], plain: dict[str, object]
) -> None:
    img = _as(small, np.float16, 4)
    kwargs.setdefault("style", 3)
    plain.setdefault("style", 3)
    got = neuralstyle.stylize(img, device="cpu", **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(got, neuralstyle.stylize(img, device="cpu", **plain))  # type: ignore[arg-type]


def test_numpy_scalars_for_optimize_settings(small: np.ndarray) -> None:
    painting = _as(small, np.uint8, 3)
    kw = {"method": "optimize", "quality": "draft", "device": "cpu"}
    a = neuralstyle.stylize(
        small, painting, seed=np.uint32(3), steps=np.int64(1), style_weight=np.float32(20.0), **kw
    )
    b = neuralstyle.stylize(small, painting, seed=3, steps=1, style_weight=20.0, **kw)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"strength": np.bool_(True)}, "strength must be a number"),
        ({"style_blend": np.array(True), "second_style": 1}, "style_blend must be a number"),
        ({"strength": np.complex64(0.5)}, "strength must be a number"),
        ({"strength": np.float32(np.nan)}, "strength must be from 0 to 1"),
        ({"strength": np.array([0.5])}, "strength must be a number"),  # not a scalar
        ({"style": np.bool_(True)}, "style must be a style name or index"),
        ({"render_scale": np.bool_(True)}, "render_scale must be in (0, 1]"),
        ({"seed": np.bool_(True), "method": "optimize", "style": "painting"}, "seed"),
        (
            {"steps": np.float32(3), "method": "optimize", "style": "painting"},
            "steps must be an integer",
        ),
        ({"frame_size": (np.float32(24), 40)}, "frame_size must be (height, width)"),
        ({"premultiplied": np.int64(1)}, "premultiplied must be True, False or None"),
    ],
)
def test_numpy_scalars_keep_the_checks(
    small: np.ndarray, kwargs: dict[str, object], words: str
) -> None:
    if kwargs.get("style") == "painting":
        kwargs["style"] = _as(small, np.uint8, 3)
    with pytest.raises(InputError) as info:
        neuralstyle.stylize(small, device="cpu", **kwargs)  # type: ignore[arg-type]
    assert words in str(info.value)


def test_dir_lists_the_api_without_importing_torch(tmp_path) -> None:
    code = (
        "import sys, neuralstyle;"
        "names = dir(neuralstyle);"
        "assert {'stylize', 'styles', '__version__'} <= set(names), names;"
        "assert set(neuralstyle.__all__) <= set(names);"
        "assert names == sorted(names);"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {"HOME": str(tmp_path), "PYTHONPATH": _package_root()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
