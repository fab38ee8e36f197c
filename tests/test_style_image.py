"""Style images from files and arrays: what loads, how it is encoded, and every bad file's error,
through the API and the CLI (one line, non-zero exit, nothing written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralstyle.cli import main
from neuralstyle.engine.style_source import StyleImage
from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.io import style_image
from neuralstyle.io.images import write_image
from neuralstyle.pixel_encoding import srgb_encode


@pytest.fixture
def painting(photo: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(photo[:48, :64])


def test_png_8_and_16_bit_load_alike(tmp_path: Path, painting: np.ndarray) -> None:
    eight, sixteen = tmp_path / "s8.png", tmp_path / "s16.png"
    write_image(eight, painting)
    write_image(sixteen, painting.astype(np.uint16) * 257)
    a = StyleImage.from_file(eight).pixels()
    b = StyleImage.from_file(sixteen).pixels()
    assert a.shape == (48, 64, 3) and a.dtype == np.float32
    np.testing.assert_allclose(a, painting / 255.0, atol=1e-6)
    np.testing.assert_allclose(b, a, atol=1e-6)


def test_float_is_encoded_grey_and_alpha_become_rgb(painting: np.ndarray) -> None:
    linear = np.linspace(0.0, 2.0, 48 * 64, dtype=np.float32).reshape(48, 64, 1)
    out = style_image.style_pixels(np.concatenate([linear] * 3, axis=2))
    import torch

    expected = srgb_encode(torch.from_numpy(linear).clamp(0, 1)).numpy()
    np.testing.assert_allclose(out, np.repeat(expected, 3, axis=2), atol=1e-6)
    grey = style_image.style_pixels(painting[..., 0])
    assert grey.shape == (48, 64, 3) and np.array_equal(grey[..., 0], grey[..., 2])
    rgba = np.concatenate([painting, np.full((48, 64, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(style_image.style_pixels(rgba), painting / np.float32(255))


def test_equal_files_equal_requests_and_an_edit_changes_the_key(
    tmp_path: Path, painting: np.ndarray
) -> None:
    path = tmp_path / "s.png"
    write_image(path, painting)
    first = StyleImage.from_file(path)
    assert first == StyleImage.from_file(path)
    write_image(path, painting[::-1].copy())
    assert StyleImage.from_file(path) != first


def _cmyk(path: Path) -> Path:
    data = (np.random.default_rng(0).random((32, 32, 4)) * 255).astype(np.uint8)
    Image.fromarray(data, mode="CMYK").save(path)
    return path


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda d: d / "missing.png", ImageIOError, "no such file"),
        (
            lambda d: (d / "text.png").write_text("not a picture") and d / "text.png",
            ImageIOError,
            "cannot read style image",
        ),
        (
            lambda d: (write_image(d / "dot.png", np.zeros((1, 1, 3), np.uint8)), d / "dot.png")[1],
            InputError,
            "1x1; a style image needs at least 16x16",
        ),
        (lambda d: _cmyk(d / "cmyk.jpg"), InputError, "is CMYK"),
        (lambda d: _cmyk(d / "cmyk.tif"), InputError, "is CMYK"),
    ],
    ids=["missing", "not-an-image", "1x1", "cmyk-jpeg", "cmyk-tiff"],
)
def test_bad_style_files(tmp_path: Path, make: object, error: type, match: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(error, match=match):
        StyleImage.from_file(path)


def _damaged_style(folder: Path, painting: np.ndarray, kind: str) -> Path:
    if kind == "empty":
        path = folder / "empty.png"
        path.write_bytes(b"")
    elif kind == "text":
        path = folder / "text.jpg"
        path.write_text("not a picture")
    else:  # a painting cut short: header whole, pixels not
        path = folder / ("cut.png" if kind == "cut-png" else "cut.jpg")
        write_image(path, painting)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
    return path


@pytest.mark.parametrize("kind", ["cut-png", "cut-jpeg", "text", "empty"])
def test_damaged_style_file_is_one_line_naming_the_style_image(
    tmp_path: Path, painting: np.ndarray, capfd: pytest.CaptureFixture[str], kind: str
) -> None:
    style = _damaged_style(tmp_path, painting, kind)
    with pytest.raises(ImageIOError, match=rf"^cannot read style image {style}: \S"):
        StyleImage.from_file(style).pixels()
    content = tmp_path / "content.png"
    write_image(content, painting)
    out = tmp_path / "out"
    argv = ["stylize", str(content), "-o", str(out / "o.png"), "--style", str(style)]
    assert main([*argv, "--device", "cpu"]) == 4
    err = capfd.readouterr().err  # file-descriptor level: a decoder's own line would show
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"neuralstyle: error: cannot read style image {style}: ")
    assert not out.exists()


def test_huge_file_fails_from_its_header(
    tmp_path: Path, painting: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check reads the header only; a real 8K+ file is not needed to hold the limit.
    monkeypatch.setattr(style_image, "MAX_STYLE_PIXELS", 40 * 40)
    path = tmp_path / "big.png"
    write_image(path, painting)
    with pytest.raises(InputError, match=r"64x48 \(0 Mpx\); style images are limited"):
        StyleImage.from_file(path)
    with pytest.raises(InputError, match="style images are limited"):
        StyleImage.from_array(painting)


def test_bad_arrays() -> None:
    with pytest.raises(InputError, match="must be uint8, uint16, float16 or float32"):
        StyleImage.from_array(np.zeros((32, 32, 3), np.int32))
    with pytest.raises(InputError, match="shape"):
        StyleImage.from_array(np.zeros((32, 32, 5), np.uint8))
    nan = np.zeros((32, 32, 3), np.float32)
    nan[3, 3, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        StyleImage.from_array(nan)


def test_cli_bad_style_file_one_line_nothing_written(
    tmp_path: Path, photo: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content.png"
    write_image(content, photo)
    bad = _cmyk(tmp_path / "cmyk.jpg")
    out = tmp_path / "out.png"
    for style, code in ((bad, 2), (tmp_path / "missing.png", 4)):
        status = main(
            ["stylize", str(content), "-o", str(out), "--style", str(style), "--device", "cpu"]
        )
        err = capsys.readouterr().err.strip()
        assert status == code
        assert len(err.splitlines()) == 1 and err.startswith("neuralstyle: error: ")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cmyk.jpg", "content.png"]
