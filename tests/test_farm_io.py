"""Plates (every channel, metadata, per-format options, atomic writes, verification) and OCIO
colour transforms, in process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from farm_support import plate_pixels, read_header, write_exr
from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.farm.colour_stage import ColourSettings
from neuralstyle.io import ocio
from neuralstyle.io.atomic import remove_stale_temps, temp_path
from neuralstyle.io.plates import (
    Plate,
    WriteOptions,
    encoded_for_verify,
    is_lossy,
    read_plate,
    verify_plate,
    write_plate,
)


@pytest.fixture
def plate(tmp_path: Path) -> Plate:
    path = tmp_path / "in.exr"
    write_exr(path, plate_pixels(3))
    return read_plate(path)


def test_exr_plate_keeps_every_channel_and_its_metadata(plate: Plate, tmp_path: Path) -> None:
    assert plate.channels == ("R", "G", "B", "A", "depth.Z")
    assert (plate.colour, plate.premultiplied) == (4, True)
    assert plate.formats == ("half", "half", "half", "half", "float")
    out = tmp_path / "out.exr"
    write_plate(out, plate, WriteOptions(compression="piz"), attributes={"neuralstyle:x": "y"})
    again = read_plate(out)
    assert again.formats == plate.formats
    assert np.array_equal(again.pixels, plate.pixels)  # half and float: bit-exact
    header = read_header(out)
    assert header["compression"] == "piz"
    assert header["neuralstyle:x"] == "y"
    assert header["DateTime"] == "2026:01:01 00:00:00"  # carried, so reruns are byte-identical


@pytest.mark.parametrize(
    ("name", "options", "dtype", "channels"),
    [
        ("o.exr", WriteOptions(depth="float", compression="zip"), np.float32, 5),
        ("o.exr", WriteOptions(compression="dwaa:45"), np.float32, 5),
        ("o.dpx", WriteOptions(), np.uint16, 3),  # 10-bit: RGB (see io/plates.py)
        ("o.dpx", WriteOptions(depth="12"), np.uint16, 4),
        ("o.dpx", WriteOptions(depth="16"), np.uint16, 4),
        ("o.tif", WriteOptions(), np.uint16, 4),
        ("o.png", WriteOptions(), np.uint16, 4),
        ("o.png", WriteOptions(depth="8"), np.uint8, 4),
        ("o.jpg", WriteOptions(quality=90), np.uint8, 3),  # JPEG has no alpha
    ],
)
def test_formats_write_and_verify(
    plate: Plate, tmp_path: Path, *, name: str, options: WriteOptions, dtype: type, channels: int
) -> None:
    out = tmp_path / name
    write_plate(out, plate, options)
    expected, tolerance = encoded_for_verify(out, plate, options, colour_managed=False)
    verify_plate(out, expected, shape=(48, 64), lossy=is_lossy(out, options), tolerance=tolerance)
    again = read_plate(out)
    assert again.pixels.shape[2] == channels
    assert again.pixels.dtype == (np.float32 if dtype == np.float32 else dtype)
    assert sorted(os.listdir(tmp_path)) == sorted(["in.exr", name])  # no temporary file left


def test_dpx_is_really_10_bit(plate: Plate, tmp_path: Path) -> None:
    import OpenImageIO as oiio  # noqa: N813

    out = tmp_path / "o.dpx"
    write_plate(out, plate, WriteOptions(depth="10"))
    image = oiio.ImageInput.open(str(out))
    assert image is not None
    assert image.spec().get_int_attribute("oiio:BitsPerSample") == 10
    image.close()


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("o.exr", WriteOptions(depth="16"), "half or float"),
        ("o.png", WriteOptions(depth="10"), "16, 8"),
        ("o.exr", WriteOptions(compression="lzw"), "compression"),
        ("o.bmp", WriteOptions(), "unknown image format"),
    ],
)
def test_bad_write_options(
    plate: Plate, tmp_path: Path, name: str, options: WriteOptions, match: str
) -> None:
    with pytest.raises(InputError, match=match):
        write_plate(tmp_path / name, plate, options)


def test_failed_write_leaves_nothing(plate: Plate, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ImageIOError, match=rf"cannot write {blocker}/o.exr: {blocker} is not a"):
        write_plate(blocker / "o.exr", plate)  # its folder is a file
    # the folder is named, not the temporary file OpenImageIO failed to open
    with pytest.raises(ImageIOError, match=r"the folder \S*/gone does not exist$"):
        write_plate(tmp_path / "gone/o.exr", plate)
    assert sorted(os.listdir(tmp_path)) == ["file", "in.exr"]


def test_verify_rejects_truncated_and_changed_frames(plate: Plate, tmp_path: Path) -> None:
    out = tmp_path / "o.exr"
    write_plate(out, plate)
    expected, _ = encoded_for_verify(out, plate, WriteOptions(), colour_managed=False)
    verify_plate(out, expected)
    with pytest.raises(ImageIOError, match="differ"):
        verify_plate(out, expected + np.float16(0.5))
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageIOError, match="verify failed"):
        verify_plate(out)
    with pytest.raises(ImageIOError, match="verify failed"):
        verify_plate(tmp_path / "missing.exr")


def test_verify_of_a_truncated_png_prints_nothing_of_its_own(
    plate: Plate, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """--skip-existing --verify reads old outputs back: a cut PNG is a message, not libpng's
    line on stderr."""
    out = tmp_path / "o.png"
    write_plate(out, plate)
    out.write_bytes(out.read_bytes()[:-30])
    with pytest.raises(ImageIOError, match=r"verify failed for \S*o\.png: truncated PNG"):
        verify_plate(out)
    assert capfd.readouterr().err == ""


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "o.0001.exr"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    mine = temp_path(target)
    theirs = mine.with_name(mine.name.replace(f"-{os.getpid()}.", f"-{dead.stdout.strip()}."))
    other = tmp_path / ".o.0002.exr.somehost-1.tmp.exr"  # another frame: not ours to touch
    for path in (mine, theirs, other):
        path.write_bytes(b"partial")
    assert remove_stale_temps([target]) == [theirs]
    assert mine.exists() and other.exists()  # a live process's file stays


# ----------------------------------------------------------------------------- OCIO


@pytest.mark.parametrize("config", ["ocio://default", "ocio://studio-config-latest"])
@pytest.mark.parametrize(
    ("source", "target"),
    [("ACEScg", "ACEScct"), ("ACEScg", "lin_rec709"), ("lin_rec709", "sRGB - Texture")],
)
def test_invertible_transforms_round_trip_below_1e4(config: str, source: str, target: str) -> None:
    rng = np.random.default_rng(0)
    linear = (rng.random((32, 32, 3), dtype=np.float32) * 16.0).astype(np.float32)
    if target == "sRGB - Texture":
        linear = np.clip(linear, 0.0, 1.0)  # the texture space is a display range
    values = linear.copy()
    ocio.transform(config, source, target).apply(values)
    assert not np.allclose(values, linear)
    ocio.transform(config, target, source).apply(values)
    assert float(np.max(np.abs(values - linear) / np.maximum(np.abs(linear), 1e-3))) < 1e-4


def test_colour_spaces_are_checked_with_suggestions() -> None:
    with pytest.raises(InputError, match="did you mean ACEScg"):
        ocio.resolve("ocio://default", "ACEScgg")
    with pytest.raises(InputError, match="cannot load the OCIO config"):
        ocio.resolve("ocio://no-such-config", "ACEScg")
    with pytest.raises(InputError, match="need --in-cs"):
        ColourSettings(output="ACEScg").check()
    with pytest.raises(InputError, match="data"):
        ColourSettings(input="ACEScg", working="Raw").check()
    assert ocio.resolve("ocio://default", "lin_rec709").scene_linear
    assert not ocio.resolve("ocio://default", "ACEScct").scene_linear


@pytest.mark.parametrize("working", ["lin_rec709", "ACEScct", "sRGB - Texture"])
def test_colour_stage_round_trip_keeps_premultiplied_highlights(working: str) -> None:
    stage = ColourSettings("ocio://studio-config-latest", "ACEScg", working).check()
    assert stage is not None
    rgba = plate_pixels(5)[..., :4]
    engine = stage.to_engine(rgba, premultiplied=True)
    back = stage.from_engine(engine, premultiplied=True)
    assert np.array_equal(back[..., 3], rgba[..., 3])  # alpha is never converted
    error = np.abs(back - rgba) / np.maximum(np.abs(rgba), 1e-3)
    assert float(error.max()) < 1e-4
    assert float(back[..., :3].max()) > 3.0  # highlights above 1 survive
