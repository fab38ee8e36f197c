"""The ``neuralstyle`` command: renders equal the API's, files round-trip, errors are one line with
the documented exit status."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neuralstyle
from neuralstyle.cli import main
from neuralstyle.io.images import read, read_image, write_image


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("in") / "photo.png"
    write_image(path, photo[:48, 16:80])
    return path


@pytest.fixture(scope="module")
def exr(tmp_path_factory: pytest.TempPathFactory, textured: np.ndarray) -> Path:
    linear = (textured[:32, :48] ** 2.2 * 1.2).astype(np.float16)
    linear[3, 5] = [6.0, 12.0, 30.0]  # a light source
    linear[4, 5] = [-0.25, 0.5, 0.5]  # negative lobe from a resize upstream
    alpha = np.ones((*linear.shape[:2], 1), np.float16)
    path = tmp_path_factory.mktemp("in") / "plate.0001.exr"
    write_image(path, np.concatenate([linear, alpha], axis=2))
    return path


@pytest.fixture
def paths(png: Path, exr: Path, tmp_path: Path) -> dict[str, Path]:
    return {"png": png, "exr": exr, "tmp": tmp_path}


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def test_stylize_png_equals_the_api(png: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    assert main(["stylize", str(png), "-o", str(out), "--style", "9", "--device", "cpu"]) == 0
    expected = neuralstyle.stylize(read_image(png), 9, device="cpu")
    assert read_image(out).tobytes() == expected.tobytes()
    log = _last_line(capsys.readouterr().err)
    name = neuralstyle.styles()[9].name
    assert log.startswith("neuralstyle: in=") and f"style={name}" in log and "device=cpu" in log


def test_exr_round_trip_keeps_float_and_highlights(exr: Path, tmp_path: Path) -> None:
    out = tmp_path / "styled.exr"
    args = ["stylize", str(exr), "-o", str(out), "--strength", "0.8", "--device", "cpu"]
    assert main(args) == 0
    source, styled = read_image(exr), read_image(out)
    assert styled.dtype == np.float16 and styled.shape == source.shape
    assert (styled[3, 5, :3] > 5.0).all()  # the light source is still well above 1
    assert styled[..., 3].tobytes() == source[..., 3].tobytes()
    expected = neuralstyle.stylize(source, 0, strength=0.8, device="cpu")
    assert styled.tobytes() == expected.tobytes()
    # what the network cannot see passes through: the same frame clipped to [0, 1] differs from
    # it by exactly the clipped-off part
    clipped = source.copy()
    clipped[..., :3] = np.clip(source[..., :3], 0, 1)
    reference = neuralstyle.stylize(clipped, 0, strength=0.8, device="cpu").astype(np.float32)
    offset = source[..., :3].astype(np.float32) - clipped[..., :3]
    np.testing.assert_allclose(styled[..., :3] - reference[..., :3], offset, atol=0.02)
    assert styled[4, 5, 0] - reference[4, 5, 0] == pytest.approx(-0.25, abs=1e-3)


def test_strength_zero_and_zero_mask_give_the_file_back(tmp_path: Path, photo: np.ndarray) -> None:
    # straight-alpha PNG: nothing may be premultiplied on the way through
    rgba = np.concatenate([photo[:24, :24], np.full((24, 24, 1), 9, np.uint8)], axis=2)
    src = tmp_path / "straight.png"
    write_image(src, rgba, premultiplied=False)
    mask = tmp_path / "mask.png"
    write_image(mask, np.zeros((24, 24, 1), np.uint8))
    for extra in (["--strength", "0"], ["--mask", str(mask)]):
        out = tmp_path / "out.png"
        assert main(["stylize", str(src), "-o", str(out), "--device", "cpu", *extra]) == 0
        assert read(out).pixels.tobytes() == rgba.tobytes()


def test_several_inputs_into_a_folder(png: Path, exr: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "styled"
    args = ["stylize", str(png), str(exr), "-o", str(folder), "--style", "2"]
    args += ["--second-style", "5", "--style-blend", "0.25", "--device", "cpu"]
    assert main(args) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([exr.name, png.name])
    err = capsys.readouterr().err.strip().splitlines()
    assert sum(line.startswith("neuralstyle: in=") for line in err) == 2
    assert all("style_blend=0.25" in line for line in err if line.startswith("neuralstyle: in="))
    expected = neuralstyle.stylize(
        read_image(png), 2, second_style=5, style_blend=0.25, device="cpu"
    )
    assert read_image(folder / png.name).tobytes() == expected.tobytes()


def test_styles_lists_all_26(capsys) -> None:
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 26
    for index, (line, style) in enumerate(zip(lines, neuralstyle.styles(), strict=True)):
        assert line.split()[:2] == [str(index), style.name]


def test_sheet(png: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    assert main(["sheet", str(png), "-o", str(out), "--tile", "16", "--device", "cpu"]) == 0
    sheet = read_image(out)
    assert sheet.dtype == np.uint8 and sheet.shape[2] == 3 and sheet.shape[1] > 7 * 16


def test_proxy_with_the_frame_size_equals_the_api(png: Path, tmp_path: Path) -> None:
    out = tmp_path / "proxy.png"
    argv = ["stylize", str(png), "-o", str(out), "--style", "4", "--device", "cpu"]
    assert main([*argv, "--render-scale", "0.5", "--frame-size", "127x97"]) == 0
    expected = neuralstyle.stylize(
        read_image(png), 4, render_scale=0.5, frame_size=(97, 127), device="cpu"
    )
    assert read_image(out).tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["stylize", "{tmp}/missing.png", "-o", "{tmp}/o.png"], 4, "cannot read"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--strength", "2"], 2, "strength"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--strength", "x"], 2, "invalid float"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--style", "nope"], 2, "unknown style"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--style-blend", "0.5"], 2, "--second-style"),
        (["stylize", "{png}", "-o", "{tmp}/o.xyz"], 4, "unknown format"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--mask", "{exr}"], 2, "mask is 48x32"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--device", "npu"], 2, "invalid choice"),
        (["stylize", "{png}"], 2, "required: -o/--output"),
        (["stylize", "{png}", "-o", "{tmp}/o.png", "--frame-size", "64"], 2, "WIDTHxHEIGHT"),
        (
            [
                "stylize",
                "{png}",
                "-o",
                "{tmp}/o.png",
                "--render-scale",
                "0.5",
                "--frame-size",
                "64x48",
            ],
            2,
            "is not a frame of 64x48",
        ),
        (["paint", "{png}"], 2, "invalid choice"),
        ([], 2, "required: COMMAND"),
    ],
)
def test_errors_are_one_line_with_the_exit_status(
    args: list[str], status: int, words: str, paths: dict[str, Path], capsys
) -> None:
    argv = [a.format(**paths) for a in args]
    tmp_path = paths["tmp"]
    assert main(argv) == status
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("neuralstyle: error: ") and words in lines[0]
    assert "Traceback" not in captured.err
    assert not (tmp_path / "o.png").exists()


def test_cuda_without_a_gpu_exits_75(png: Path, tmp_path: Path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["stylize", str(png), "-o", str(tmp_path / "o.png"), "--device", "cuda"]) == 75
    assert capsys.readouterr().err == (
        "neuralstyle: error: CUDA requested but no CUDA device is available\n"
    )


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m neuralstyle ARGS`` in a fresh process, stdin closed, output captured."""
    env = os.environ | {"PYTHONPATH": str(Path(neuralstyle.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "neuralstyle", *args],
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )


def test_python_dash_m_runs_without_stdin(tmp_path: Path) -> None:
    failed = _run_cli("stylize", str(tmp_path / "none.exr"), "-o", "o.exr")
    assert failed.returncode == 4
    assert failed.stderr.startswith("neuralstyle: error: cannot read")
    assert len(failed.stderr.splitlines()) == 1


def test_eval_explains_each_number_next_to_the_content_baseline(
    png: Path, tmp_path: Path, textured: np.ndarray, capsys
) -> None:
    import json

    style, result = tmp_path / "style.png", tmp_path / "result.png"
    write_image(style, (textured * 255 + 0.5).astype(np.uint8))
    write_image(result, read_image(png)[::-1].copy())
    argv = ["eval", str(png), str(style), str(result), "--device", "cpu"]
    assert main([*argv, "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["style_distance_content"] == pytest.approx(1 - numbers["ssi_content"])
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["metric", "result", "content", "better", "meaning"]
    rows = {line.split()[0]: line.split() for line in table[1:-1]}
    assert list(rows) == ["ssim", "psnr", "content_loss", "style_distance", "ssi"]
    assert rows["ssi"][1:4] == [f"{numbers['ssi']:.4f}", f"{numbers['ssi_content']:.4f}", "higher"]
    assert rows["style_distance"][2:4] == [f"{numbers['style_distance_content']:.4f}", "lower"]
    assert rows["ssim"][2:4] == ["-", "higher"]  # the content against itself: no baseline
    assert table[-1].startswith("content: the unstylised content")


@pytest.fixture
def small(tmp_path: Path, photo: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder (the current one) with 32x24 pictures: x.png, x.exr, x.jpg, in.png,
    s.png, m.png, d/a.png, d/b.jpg and d_link -> d."""
    picture = np.ascontiguousarray(photo[:24, :32])
    for name in ("x.png", "x.jpg", "in.png", "s.png", "m.png", "d/a.png", "d/b.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_image(tmp_path / name, picture)
    write_image(tmp_path / "x.exr", (picture / 255.0).astype(np.float16))
    (tmp_path / "d_link").symlink_to(tmp_path / "d")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes (links followed, temporary files included)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ("x.png -o x.png --style mosaic", "the input x.png"),
        ("x.exr -o x.exr --style mosaic", "the input x.exr"),
        ("x.jpg -o x.jpg --style mosaic", "the input x.jpg"),
        ("d/a.png d/b.jpg -o d", "the input d/a.png"),
        ("in.png -o s.png --style s.png", "the style image s.png"),
        ("in.png -o m.png --mask m.png", "the mask m.png"),
        ("d/a.png -o d_link/a.png", "the input d/a.png"),  # through a symlinked folder
        ("x.png -o d/../x.png", "the input x.png"),  # another spelling of the same file
    ],
)
def test_stylize_refuses_to_overwrite_what_it_reads(
    small: Path, argv: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(small)
    assert main(["stylize", *argv.split(), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("neuralstyle: error: the output ") and f"would overwrite {words}" in err
    assert _snapshot(small) == before  # nothing written, no temporary file


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ("sheet x.png -o x.png", "the input x.png"),
        ("sheet d/a.png -o d_link/a.png", "the input d/a.png"),
        ("eval in.png s.png x.png -o s.png", "the style image s.png"),
        ("eval in.png s.png x.png -o x.png", "the result x.png"),
        ("eval in.png s.png x.png -o d/../in.png", "the content in.png"),
    ],
)
def test_sheet_and_eval_refuse_to_overwrite_what_they_read(
    small: Path, argv: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(small)
    assert main([*argv.split(), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert f"would overwrite {words}" in err
    assert _snapshot(small) == before


def test_every_input_is_decoded_before_the_first_output(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (small / "d/b.jpg").read_bytes()
    (small / "d/b.jpg").write_bytes(data[: len(data) // 2])  # libjpeg: "premature end"
    assert main(["stylize", "x.png", "d/b.jpg", "-o", "out", "--device", "cpu"]) == 4
    err = capsys.readouterr().err
    assert err == (
        "neuralstyle: error: cannot read d/b.jpg: JPEG error: "
        'Premature end of JPEG file ("d/b.jpg")\n'
    )
    assert not (small / "out").exists()  # x.png was fine, but nothing is written


@pytest.mark.parametrize("how", ["cut", "empty", "text"])
def test_damaged_mask_is_one_line_naming_the_mask(
    small: Path, how: str, capfd: pytest.CaptureFixture[str]
) -> None:
    mask = small / "m.png"
    data = mask.read_bytes()
    mask.write_bytes({"cut": data[: len(data) // 2], "empty": b"", "text": b"a mask"}[how])
    assert main(["stylize", "in.png", "-o", "out/o.png", "--mask", "m.png"]) == 4
    err = capfd.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(
        "neuralstyle: error: cannot read mask m.png: "
    )
    assert not (small / "out").exists()


def test_truncated_png_is_one_line_on_stderr(small: Path) -> None:
    """libpng prints its own "libpng error: ..." line unless the file is checked first."""
    data = (small / "x.png").read_bytes()
    (small / "x.png").write_bytes(data[: len(data) // 2])
    failed = _run_cli("stylize", "x.png", "-o", "o.png", "--device", "cpu")
    assert failed.returncode == 4
    assert failed.stderr.startswith("neuralstyle: error: cannot read x.png: truncated PNG")
    assert len(failed.stderr.splitlines()) == 1, failed.stderr
    assert not (small / "o.png").exists()


def test_missing_output_folders_are_made(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One rule for stylize and render: missing output folders are made; when that fails the
    error names the folder (it used to name a temporary file)."""
    assert main(["stylize", "x.png", "-o", "new/deeper/x.png", "--device", "cpu"]) == 0
    assert read_image(small / "new/deeper/x.png").shape == (24, 32, 3)
    capsys.readouterr()
    (small / "blocker").write_text("")
    assert main(["stylize", "x.png", "-o", "blocker/sub/x.png", "--device", "cpu"]) == 4
    assert capsys.readouterr().err.startswith(
        "neuralstyle: error: cannot make the output folder blocker/sub: "
    )


def test_quality_is_a_deprecated_spelling_of_optimize_quality(
    png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["stylize", str(png), "--style", str(png), "--method", "optimize", "--steps", "1"]
    base += ["--device", "cpu"]
    new, old = tmp_path / "new.png", tmp_path / "old.png"
    assert main([*base, "-o", str(new), "--optimize-quality", "draft"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*base, "-o", str(old), "--quality", "draft"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "neuralstyle: warning: --quality is deprecated; use --optimize-quality"
    assert sum("warning" in line for line in err) == 1
    assert np.array_equal(read_image(old), read_image(new))


def test_optimisation_shows_its_progress_on_a_terminal(
    png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minutes per image: a bar with percent and ETA on a terminal (never in farm logs)."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    args = ["stylize", str(png), "--style", str(png), "--method", "optimize", "--steps", "2"]
    assert main([*args, "-o", str(tmp_path / "o.png"), "--device", "cpu"]) == 0
    assert re.search(r"\b100%\|", terminal.getvalue()), terminal.getvalue()[-500:]
    plain = io.StringIO()  # not a terminal: log lines only
    monkeypatch.setattr(sys, "stderr", plain)
    assert main([*args, "-o", str(tmp_path / "p.png"), "--device", "cpu"]) == 0
    assert "%|" not in plain.getvalue()


def test_both_entry_points_report_errors_through_one_barrier(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from neuralstyle.command import CommandParser, run_command
    from neuralstyle.errors import ModelError
    from neuralstyle.farm.render_command import main as farm_main

    assert main(["render"]) == farm_main(["render"]) == 2
    cli_err, farm_err = capsys.readouterr().err.splitlines()
    assert cli_err == farm_err
    assert cli_err.startswith("neuralstyle: error: the following arguments are required: IN")

    def command(error: BaseException) -> CommandParser:
        def run(args: object) -> int:
            raise error

        parser = CommandParser(prog="neuralstyle")
        parser.set_defaults(run=run)
        return parser

    assert run_command(command(ModelError("no\n  weights")), []) == 3
    assert capsys.readouterr().err == "neuralstyle: error: no weights\n"
    assert run_command(command(KeyboardInterrupt()), []) == 130
    assert capsys.readouterr().err == "neuralstyle: interrupted\n"
    assert run_command(command(SystemExit(143)), []) == 143  # the farm's SIGTERM
    assert run_command(command(ModelError()), ["--help"]) == 0
