"""Image files: native pixel types, colour conversions between float and integer formats, alpha
association, atomic writes and one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neuralstyle.errors import ImageIOError
from neuralstyle.io import atomic
from neuralstyle.io.images import read, read_image, write_image, write_pixels
from neuralstyle.io.plates import read_plate


def _rgba(dtype: type, rng: np.random.Generator, h: int = 11, w: int = 17) -> np.ndarray:
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, (h, w, 4)).astype(dtype)
    return (rng.normal(0.5, 2.0, (h, w, 4))).astype(dtype)


@pytest.mark.parametrize(
    ("suffix", "dtype"),
    [
        (".exr", np.float16),
        (".exr", np.float32),
        (".png", np.uint8),
        (".png", np.uint16),
        (".tif", np.uint8),
        (".tif", np.uint16),
        (".tif", np.float32),
    ],
)
def test_native_types_round_trip_bit_exactly(tmp_path: Path, suffix: str, dtype: type) -> None:
    pixels = _rgba(dtype, np.random.default_rng(3))
    path = tmp_path / f"image{suffix}"
    premultiplied = suffix == ".exr"
    write_image(path, pixels, premultiplied=premultiplied)
    back = read(path)
    assert back.pixels.dtype == pixels.dtype and back.pixels.shape == pixels.shape
    assert back.pixels.tobytes() == pixels.tobytes()
    assert back.premultiplied == premultiplied
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left over


def test_straight_png_alpha_is_read_as_stored(tmp_path: Path) -> None:
    pixels = np.zeros((6, 6, 4), np.uint8)
    pixels[..., :3] = 200
    pixels[..., 3] = 10  # straight colour much brighter than alpha: premultiplying would round
    path = tmp_path / "straight.png"
    write_image(path, pixels, premultiplied=False)
    image = read(path)
    assert image.premultiplied is False
    assert image.pixels.tobytes() == pixels.tobytes()


def test_float_into_integer_formats_is_srgb_encoded(tmp_path: Path) -> None:
    linear = np.array([[[0.0, 0.18, 1.0], [2.0, -1.0, 0.0031308]]], np.float32).repeat(5, 0)
    write_image(tmp_path / "a.png", linear)
    png = read_image(tmp_path / "a.png")
    assert png.dtype == np.uint16
    expected = np.rint(np.array([0.0, 0.46135613, 1.0, 1.0, 0.0, 0.040449936]) * 65535)
    np.testing.assert_array_equal(png[0].reshape(-1), expected)
    write_image(tmp_path / "a.jpg", linear)
    jpg = read_image(tmp_path / "a.jpg")
    assert jpg.dtype == np.uint8 and jpg.shape == linear.shape


def test_integer_into_exr_is_srgb_decoded(tmp_path: Path) -> None:
    display = np.array([[[0, 118, 255]]], np.uint8).repeat(5, 0)
    write_image(tmp_path / "a.exr", display)
    exr = read_image(tmp_path / "a.exr")
    assert exr.dtype == np.float16
    np.testing.assert_allclose(exr[0, 0], [0.0, 0.1812, 1.0], atol=5e-4)
    write_image(tmp_path / "b.exr", display.astype(np.uint16) * 257)
    assert read_image(tmp_path / "b.exr").dtype == np.float32


def test_premultiplied_into_png_and_straight_into_exr(tmp_path: Path) -> None:
    straight = np.full((4, 4, 4), 0.5, np.float32)
    straight[..., 3] = 0.25
    write_image(tmp_path / "s.exr", straight, premultiplied=False)
    np.testing.assert_allclose(read_image(tmp_path / "s.exr")[..., 0], 0.125)  # EXR stores premult
    premult = np.full((4, 4, 4), 51, np.uint8)  # colour 0.2 with alpha 0.2: straight 1.0
    write_image(tmp_path / "p.png", premult, premultiplied=True)
    np.testing.assert_array_equal(read_image(tmp_path / "p.png")[..., 0], 255)


def test_half_into_tiff_is_widened_losslessly(tmp_path: Path) -> None:
    pixels = _rgba(np.float16, np.random.default_rng(4))
    write_image(tmp_path / "h.tiff", pixels)
    back = read_image(tmp_path / "h.tiff")
    assert back.dtype == np.float32 and np.array_equal(back, pixels.astype(np.float32))


def test_grey_images(tmp_path: Path) -> None:
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10, 1)
    write_image(tmp_path / "g.png", grey)
    back = read_image(tmp_path / "g.png")
    assert back.shape == (6, 10, 1) and back.tobytes() == grey.tobytes()


def test_failed_write_leaves_no_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "frame.0001.exr"
    old = np.ones((4, 4, 3), np.float16)
    write_image(path, old)

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync", fail)
    with pytest.raises(ImageIOError, match=r"cannot write .*frame\.0001\.exr: No space left"):
        write_image(path, np.zeros((4, 4, 3), np.float16))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert read_image(path).tobytes() == old.tobytes()


def test_images_and_plates_share_the_recoverable_temporary_name(tmp_path: Path) -> None:
    """One atomic write for both: a crash before the rename leaves ``temp_path(target)``, complete,
    which the farm's ``remove_stale_temps`` recognises; the target appears only after."""
    import OpenImageIO as oiio  # noqa: N813  # the library's own spelling

    target = tmp_path / "f.png"
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    seen: list[tuple[Path, bytes, bool]] = []

    def before_rename(tmp: Path) -> None:
        seen.append((tmp, read_image(tmp).tobytes(), target.exists()))

    write_pixels(target, oiio.ImageSpec(4, 4, 3, "uint8"), pixels, before_rename=before_rename)
    assert seen == [(atomic.temp_path(target), pixels.tobytes(), False)]
    assert read_image(target).tobytes() == pixels.tobytes()
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize(
    ("name", "array", "words"),
    [
        ("a.xyz", np.zeros((4, 4, 3), np.uint8), "unknown format"),
        ("a.jpg", np.zeros((4, 4, 4), np.uint8), "no alpha channel"),
        ("missing/a.png", np.zeros((4, 4, 3), np.uint8), r"the folder \S*/missing does not exist"),
    ],
)
def test_write_errors(tmp_path: Path, name: str, array: np.ndarray, words: str) -> None:
    with pytest.raises(ImageIOError, match=words) as info:
        write_image(tmp_path / name, array)
    assert "\n" not in str(info.value) and ".tmp" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_read_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageIOError, match="no such file") as info:
        read(tmp_path / "nope.exr")
    assert "nope.exr" in str(info.value)
    corrupt = tmp_path / "corrupt.exr"
    corrupt.write_bytes(b"not an exr at all")
    with pytest.raises(ImageIOError, match=r"corrupt\.exr") as info:
        read(corrupt)
    assert "\n" not in str(info.value)
    truncated = tmp_path / "truncated.png"
    write_image(truncated, np.zeros((64, 64, 3), np.uint8) + 7)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageIOError, match=r"truncated\.png"):
        read(truncated)


def _damaged(path: Path, how: str) -> Path:
    """Write a 32x24 picture to ``path`` and damage it: cut at half, cut by its last 20 bytes
    (PNG: into the IEND chunk, the pixels all there), or one bit flipped in the middle."""
    rng = np.random.default_rng(7)
    if path.suffix == ".exr":
        write_image(path, rng.random((24, 32, 4), np.float32).astype(np.float16))
    else:
        write_image(path, rng.integers(0, 256, (24, 32, 3), np.uint8))
    data = bytearray(path.read_bytes())
    if how == "half":
        data = data[: len(data) // 2]
    elif how == "end":
        data = data[: len(data) - 20 if path.suffix != ".png" else len(data) - 1]
    else:
        data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".exr"])
@pytest.mark.parametrize("how", ["half", "end"])
def test_truncated_files_are_errors_in_both_readers(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], suffix: str, how: str
) -> None:
    """libjpeg's "premature end" used to be dropped by ``read``: a partly grey picture."""
    path = _damaged(tmp_path / f"cut{suffix}", how)
    for reader in (read, read_plate):
        with pytest.raises(ImageIOError, match=rf"^cannot read \S*cut\{suffix}: \S") as info:
            reader(path)
        assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""  # nothing printed by a decoder (libpng's own line)


@pytest.mark.parametrize(
    ("suffix", "words"),
    [(".png", "CRC error in its IDAT chunk"), (".tif", r"flip\.tif: "), (".exr", "corrupted")],
)
def test_a_flipped_bit_in_checksummed_data_is_an_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], suffix: str, words: str
) -> None:
    path = _damaged(tmp_path / f"flip{suffix}", "flip")  # PNG CRC, ZIP (zlib) TIFF and EXR
    for reader in (read, read_plate):
        with pytest.raises(ImageIOError, match=words):
            reader(path)
    assert capfd.readouterr().err == ""


def test_empty_file_and_the_name_of_what_is_read(tmp_path: Path) -> None:
    empty = tmp_path / "m.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageIOError, match=rf"^cannot read mask {empty}: empty file$"):
        read(empty, "mask")
    with pytest.raises(ImageIOError, match=rf"^cannot read mask {empty}: empty file$"):
        read_plate(empty, "mask")


def test_output_file_is_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    old = os.umask(0o022)
    try:
        write_image(path, np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o044 == 0o044
