"""``neuralstyle render`` as a farm runs it: a fresh process per command, stdin open and unused.

The determinism test renders one 12-frame sequence in one go, in three chunks, again, and one
frame alone, with 2 threads and with 1 (through OpenCue's CUE_THREADS) and with a read-only HOME:
the strict profile must give the same bits every time.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from farm_support import (
    HEIGHT,
    WIDTH,
    error_lines,
    frame_lines,
    make_sequence,
    plate_pixels,
    read_header,
    read_pixels,
    render,
    write_exr,
)

pytestmark = pytest.mark.slow

FRAMES = range(1, 13)
KEYS = "strength: {1: 0.25, 12: 1}\nstyle: {1: mosaic, 7: teal-maze}\n"


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("shot")
    pattern = make_sequence(folder / "plates", FRAMES)
    keys = folder / "keys.yaml"
    keys.write_text(KEYS)
    return pattern, keys


def _outputs(folder: Path) -> dict[int, np.ndarray]:
    return {int(p.name.split(".")[1]): read_pixels(p) for p in sorted(folder.glob("s.*.exr"))}


def test_strict_frames_are_bit_identical_in_any_chunking(
    shot: tuple[str, Path], tmp_path: Path
) -> None:
    pattern, keys = shot
    common = ["--frames", "1-12", "--keys", str(keys), "--device", "cpu", "--verify"]

    cache = tmp_path / "cache"
    whole = render([pattern, "-o", str(tmp_path / "a/s.####.exr"), *common, "--threads", "2",
                    "--cache-dir", str(cache)])  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    assert list(cache.glob("multistyle26-*.safetensors"))  # the weights cache went where told
    lines = frame_lines(whole.stderr)
    assert sorted(lines) == list(FRAMES)
    assert {line["status"] for line in lines.values()} == {"done"}
    assert all(
        float(line["peak_mem_mb"]) > 0 and line["device"] == "cpu" for line in lines.values()
    )
    assert len({line["pid"] for line in lines.values()}) == 1

    # One thread (from OpenCue's CUE_THREADS), a read-only HOME, three chunks.
    farm_env = {"CUE_THREADS": "1", "HOME": "/proc", "XDG_CACHE_HOME": "", "NEURALSTYLE_CACHE": ""}
    for part in ("1-4", "5-8", "9-12"):
        done = render([pattern, "-o", str(tmp_path / "b/s.####.exr"), *common, "--chunk", part],
                      env=farm_env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "neuralstyle_threads=1" in done.stderr
    again = render([pattern, "-o", str(tmp_path / "c/s.####.exr"), *common])
    alone = render([pattern, "-o", str(tmp_path / "d/s.####.exr"), *common, "--chunk", "7"])
    assert again.returncode == 0 and alone.returncode == 0, again.stderr + alone.stderr

    reference = _outputs(tmp_path / "a")
    assert sorted(reference) == list(FRAMES)
    for name in ("b", "c"):
        other = _outputs(tmp_path / name)
        assert sorted(other) == list(FRAMES)
        for frame in FRAMES:
            assert np.array_equal(other[frame], reference[frame]), (name, frame)
    assert np.array_equal(_outputs(tmp_path / "d")[7], reference[7])
    # A rerun writes the same bytes (same metadata too: no clock or host in the header).
    for frame in (1, 12):
        name = f"s.{frame:04d}.exr"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()

    header = read_header(tmp_path / "b/s.0006.exr")
    assert header["neuralstyle:profile"] == "strict"
    assert header["neuralstyle:threads"] == 1
    assert str(header["neuralstyle:torch"]).startswith("2.")
    assert str(header["neuralstyle:device"]).startswith("cpu")
    params = json.loads(str(header["neuralstyle:params"]))
    assert params["strength"] == 0.25 + (6 - 1) / (12 - 1) * (1 - 0.25)  # the node's arithmetic
    assert params["style"] == "mosaic"
    assert (
        json.loads(str(read_header(tmp_path / "b/s.0007.exr")["neuralstyle:params"]))["style"]
        == "teal-maze"
    )
    plate = plate_pixels(6)
    out = reference[6]
    assert np.array_equal(out[..., 3:], plate[..., 3:].astype(np.float16).astype(np.float32))


def test_scene_linear_highlights_and_strength_zero(shot: tuple[str, Path], tmp_path: Path) -> None:
    pattern, _ = shot
    zero = render([pattern, "-o", str(tmp_path / "z/s.####.exr"), "--frames", "2-3",
                   "--strength", "0", "--device", "cpu"])  # fmt: skip
    full = render([pattern, "-o", str(tmp_path / "f/s.####.exr"), "--frames", "2",
                   "--strength", "1", "--device", "cpu"])  # fmt: skip
    assert zero.returncode == 0 and full.returncode == 0, zero.stderr + full.stderr
    plate = read_pixels(Path(pattern.replace("####", "0002")))
    assert np.array_equal(read_pixels(tmp_path / "z/s.0002.exr"), plate)  # bit-exact pass-through
    styled = read_pixels(tmp_path / "f/s.0002.exr")
    straight = plate[..., :3] / np.where(plate[..., 3:4] == 0, 1, plate[..., 3:4])
    bright = (straight > 2.0).all(axis=2) & (plate[..., 3] == 1.0)
    hot = (straight > 2.0).all(axis=2) & (plate[..., 3] > 0)
    assert hot.sum() > 20
    # The network sees at most 1; what is above it is kept: out >= alpha * (value - 1).
    assert (styled[..., :3][hot] >= (plate[..., 3][hot, None] * (straight[hot] - 1)) - 1e-2).all()
    assert not bright.any() or (styled[..., :3][bright] > 1.0).all()
    assert float(styled[..., :3].max()) > 1.0


def test_ocio_round_trip_keeps_scene_linear(shot: tuple[str, Path], tmp_path: Path) -> None:
    pattern, _ = shot
    for working, name in (("ACEScct", "ACEScct"), ("lin_rec709", "Linear Rec.709 (sRGB)")):
        done = render([pattern, "-o", str(tmp_path / f"{working}/s.####.exr"), "--frames", "4",
                       "--strength", "0", "--ocio", "ocio://studio-config-latest",
                       "--in-cs", "ACEScg", "--working-cs", working, "--depth", "float",
                       "--device", "cpu"])  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = read_pixels(tmp_path / f"{working}/s.0004.exr")
        plate = read_pixels(Path(pattern.replace("####", "0004")))
        error = np.abs(out[..., :4] - plate[..., :4]) / np.maximum(np.abs(plate[..., :4]), 1e-3)
        assert float(error.max()) < 1e-4, working
        assert float(out[..., :3].max()) > 2.0  # highlights stay scene-linear
        assert np.array_equal(out[..., 4], plate[..., 4])  # depth.Z untouched
        header = read_header(tmp_path / f"{working}/s.0004.exr")
        assert header["neuralstyle:ocio:working"] == name  # canonical names, not aliases
        assert header["neuralstyle:ocio:output"] == "ACEScg"
        assert header["neuralstyle:ocio:config"] == "ocio://studio-config-latest"


def test_skip_existing_rerenders_only_bad_frames(shot: tuple[str, Path], tmp_path: Path) -> None:
    pattern, _ = shot
    out = tmp_path / "s.####.exr"
    first = render([pattern, "-o", str(out), "--frames", "1-3", "--device", "cpu"])
    assert first.returncode == 0, first.stderr
    broken = tmp_path / "s.0002.exr"
    broken.write_bytes(broken.read_bytes()[:200])  # a truncated frame from a crashed node
    second = render([pattern, "-o", str(out), "--frames", "1-3", "--device", "cpu",
                     "--skip-existing", "--verify", "--log-format", "json"])  # fmt: skip
    assert second.returncode == 0, second.stderr
    records = [json.loads(line) for line in second.stderr.splitlines() if line.startswith("{")]
    status = {r["frame"]: r["status"] for r in records if "frame" in r and "status" in r}
    assert status == {1: "skipped", 2: "done", 3: "skipped"}
    assert read_pixels(broken).shape == (HEIGHT, WIDTH, 5)


def _nothing_written(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("missing", 4, "missing input frame 5 of"),
        ("garbage", 4, "cannot read"),
        ("range", 2, "bad frame range"),
        ("colour", 2, "unknown colour space 'ACEScgg'"),
        ("style", 2, "unknown style"),
        ("unwritable", 4, "cannot make the output folder"),
        ("chunk", 2, "names no frame"),
        ("model", 3, "NEURALSTYLE_BUILTIN_WEIGHTS"),
    ],
)
def test_bad_input_fails_at_once_with_one_line(
    shot: tuple[str, Path], tmp_path: Path, case: str, status: int, message: str
) -> None:
    pattern, _ = shot
    plates = tmp_path / "plates"
    shutil.copytree(Path(pattern).parent, plates)
    source = str(plates / "plate.####.exr")
    out = tmp_path / "out"
    args = [source, "-o", str(out / "s.####.exr"), "--frames", "1-6", "--device", "cpu"]
    if case == "missing":
        (plates / "plate.0005.exr").unlink()
    elif case == "garbage":
        (plates / "plate.0004.exr").write_bytes(b"\x76\x2f\x31\x01" + os.urandom(300))
    elif case == "range":
        args[args.index("1-6")] = "1-6x0"
    elif case == "colour":
        args += ["--in-cs", "ACEScgg"]
    elif case == "style":
        args += ["--style", "1:mosaic,4:van-gogh"]
    elif case == "unwritable":
        (tmp_path / "blocker").write_text("")
        args[2] = str(tmp_path / "blocker/sub/s.####.exr")
    elif case == "chunk":
        args += ["--chunk", "40-50"]
    env = (
        {"NEURALSTYLE_BUILTIN_WEIGHTS": str(tmp_path / "gone.safetensors")}
        if case == "model"
        else {}
    )
    done = render(args, env=env)
    assert done.returncode == status, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert _nothing_written(out)


@pytest.mark.parametrize("damage", ["cut", "flip", "mask"])
def test_a_damaged_frame_fails_before_any_frame_is_written(
    shot: tuple[str, Path], tmp_path: Path, damage: str
) -> None:
    """The preflight decodes every input and mask frame of the chunk: a cut or bit-flipped
    frame 5 (a flip inside a ZIP-compressed EXR chunk) used to let frames 1-4 be written."""
    pattern, _ = shot
    plates = tmp_path / "plates"
    shutil.copytree(Path(pattern).parent, plates)
    args = [str(plates / "plate.####.exr"), "-o", str(tmp_path / "out/s.####.exr"),
            "--frames", "1-6", "--device", "cpu"]  # fmt: skip
    broken, what = plates / "plate.0005.exr", ""
    if damage == "mask":
        shutil.copytree(plates, tmp_path / "masks")
        broken, what = tmp_path / "masks/plate.0005.exr", "mask "
        args += ["--mask", str(tmp_path / "masks/plate.####.exr")]
    data = bytearray(broken.read_bytes())
    if damage == "flip":
        data[len(data) * 3 // 4] ^= 0x04
    else:
        data = data[: len(data) - 600]  # header whole, pixels cut
    broken.write_bytes(bytes(data))
    done = render(args)
    assert done.returncode == 4, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1 and errors[0].startswith(
        f"neuralstyle: error: cannot read {what}{broken}: "
    ), done.stderr
    assert frame_lines(done.stderr) == {}
    assert _nothing_written(tmp_path / "out")


@pytest.mark.parametrize(
    ("case", "args", "words"),
    [
        ("link", "pc/p.####.exr -o pc_link/p.####.exr", "the input pc/p.0001.exr"),
        ("mask", "pc/p.####.exr -o mk/p.####.exr --mask mk/p.####.exr", "the mask mk/p.0001.exr"),
        (
            "style",  # a style file keyed at frame 3 counts as much as the first
            "pc/p.####.exr -o st/p.####.exr --style 1:mosaic,3:st/p.0002.exr",
            "the style image st/p.0002.exr",
        ),
        ("keys", "pc/p.####.exr -o ks/p.####.exr --keys ks/p.0001.exr", "the keyframe file"),
    ],
)
def test_an_output_never_overwrites_a_file_the_shot_reads(
    shot: tuple[str, Path], tmp_path: Path, case: str, args: str, words: str
) -> None:
    """Files, not path text, are compared: a symlinked folder used to let a render replace its
    own plates."""
    pattern, _ = shot
    for folder in ("pc", "mk", "st"):
        (tmp_path / folder).mkdir()
        for frame in (1, 2, 3):
            name = f"{frame:04d}"
            shutil.copy(pattern.replace("####", name), tmp_path / folder / f"p.{name}.exr")
    (tmp_path / "ks").mkdir()
    (tmp_path / "ks/p.0001.exr").write_text('{"strength": 0.5}')  # JSON, whatever its name
    (tmp_path / "pc_link").symlink_to(tmp_path / "pc")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    done = render([*args.split(), "--frames", "1-3", "--device", "cpu"], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1 and f"would overwrite {words}" in errors[0], done.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_integer_plates_and_other_formats(tmp_path: Path) -> None:
    import OpenImageIO as oiio  # noqa: N813

    plates = tmp_path / "png"
    plates.mkdir()
    for frame in (1, 2):
        rgb = np.clip(plate_pixels(frame)[..., :3], 0, 1)
        pixels = np.round(rgb * 65535).astype(np.uint16)
        out = oiio.ImageOutput.create(str(plates / f"p.{frame}.png"))
        assert out is not None
        out.open(str(plates / f"p.{frame}.png"), oiio.ImageSpec(WIDTH, HEIGHT, 3, "uint16"))
        out.write_image(pixels)
        out.close()
    done = render(
        [
            str(plates / "p.@.png"),
            "-o",
            str(tmp_path / "o/s.%04d.dpx"),
            "--device",
            "cpu",
            "--verify",
        ]
    )  # fmt: skip  (frames found on disk)
    assert done.returncode == 0, done.stderr
    assert sorted(frame_lines(done.stderr)) == [1, 2]
    assert read_pixels(tmp_path / "o/s.0002.dpx").shape == (HEIGHT, WIDTH, 3)
    exr = tmp_path / "exr"
    exr.mkdir()
    write_exr(exr / "p.0001.exr", plate_pixels(1), half=False)
    done = render([str(exr / "p.####.exr"), "-o", str(tmp_path / "j/s.####.jpg"),
                   "--frames", "1", "--device", "cpu", "--ocio", "ocio://default",
                   "--in-cs", "lin_rec709", "--out-cs", "sRGB - Texture"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_pixels(tmp_path / "j/s.0001.jpg").shape == (HEIGHT, WIDTH, 3)


def test_sigterm_stops_between_whole_frames(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from farm_support import PACKAGE_ROOT

    plates = tmp_path / "plates"
    plates.mkdir()
    for frame in range(1, 41):
        write_exr(plates / f"p.{frame:04d}.exr", plate_pixels(frame, 192, 256))
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralstyle.farm", "render", str(plates / "p.####.exr"),
         "-o", str(tmp_path / "out/s.####.exr"), "--device", "cpu"],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if " frame=" in line:
            proc.send_signal(signal.SIGTERM)  # what a farm manager sends to stop a task
            break
    proc.stderr.read()
    assert proc.wait(timeout=120) == 143
    written = sorted((tmp_path / "out").iterdir())
    assert 1 <= len(written) < 40
    assert all(not p.name.startswith(".") for p in written)  # no temporary file left
    for path in written:
        assert read_pixels(path).shape == (192, 256, 5)  # every frame there is whole


def test_mask_sequence_zero_keeps_the_plate(shot: tuple[str, Path], tmp_path: Path) -> None:
    import OpenImageIO as oiio  # noqa: N813

    pattern, _ = shot
    masks = tmp_path / "masks"
    masks.mkdir()
    for frame in (2, 3):
        matte = np.zeros((HEIGHT, WIDTH, 1), np.float32)
        matte[:, WIDTH // 2 :] = 1.0  # right half: full effect
        out = oiio.ImageOutput.create(str(masks / f"m.{frame:04d}.exr"))
        assert out is not None
        out.open(str(masks / f"m.{frame:04d}.exr"), oiio.ImageSpec(WIDTH, HEIGHT, 1, "half"))
        out.write_image(matte)
        out.close()
    done = render([pattern, "-o", str(tmp_path / "o/s.####.exr"), "--frames", "2-3",
                   "--mask", str(masks / "m.####.exr"), "--device", "cpu"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    plate = read_pixels(Path(pattern.replace("####", "0003")))
    styled = read_pixels(tmp_path / "o/s.0003.exr")
    left, right = slice(0, WIDTH // 2), slice(WIDTH // 2, WIDTH)
    assert np.array_equal(styled[:, left], plate[:, left])  # mask 0: the plate, bit for bit
    assert not np.array_equal(styled[:, right, :3], plate[:, right, :3])


def test_style_image_method_with_keyed_stroke_scale(shot: tuple[str, Path], tmp_path: Path) -> None:
    """A painting as the style on the farm: the frames equal the API's at each frame's value."""
    import neuralstyle
    from neuralstyle.io.images import write_image

    pattern, _ = shot
    from skimage import data

    painting = tmp_path / "painting.png"
    write_image(painting, np.ascontiguousarray(data.chelsea()[::6, ::6]))
    done = render([pattern, "-o", str(tmp_path / "o/s.####.exr"), "--frames", "1-3",
                   "--method", "adain", "--style", str(painting), "--preserve-colour",
                   "luminance", "--stroke-scale", "1:1,3:2", "--device", "cpu"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = read_header(tmp_path / "o/s.0002.exr")
    params = json.loads(str(header["neuralstyle:params"]))
    assert params["method"] == "adain" and params["stroke_scale"] == 1.5
    assert params["preserve_colour"] == "luminance"
    for frame, scale in ((1, 1.0), (2, 1.5), (3, 2.0)):
        plate = read_pixels(Path(pattern.replace("####", f"{frame:04d}")))[..., :4].copy()
        expected = neuralstyle.stylize(
            plate,
            painting,
            method="adain",
            preserve_colour="luminance",
            stroke_scale=scale,
            device="cpu",
        )
        got = read_pixels(tmp_path / f"o/s.{frame:04d}.exr")[..., :4]
        # the written file is half float: compare at its precision
        assert np.array_equal(got, expected.astype(np.float16).astype(np.float32)), frame
    bad = render([pattern, "-o", str(tmp_path / "x/s.####.exr"), "--frames", "1",
                  "--style", str(tmp_path / "missing.png"), "--method", "optimize",
                  "--device", "cpu"])  # fmt: skip
    assert bad.returncode == 4
    assert error_lines(bad.stderr) == [
        f"neuralstyle: error: cannot read style image {tmp_path / 'missing.png'}: no such file"
    ]
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())
