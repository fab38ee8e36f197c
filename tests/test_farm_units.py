"""Farm building blocks without rendering: frame ranges, sequence names, keyframes, the GPU and
thread environment, the failure-injection hook, and the farm-manager job descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralstyle.errors import InputError
from neuralstyle.farm.environment import prepare, visible_gpus
from neuralstyle.farm.frame_ranges import chunk, format_frames, parse_frames, restrict
from neuralstyle.farm.keyframes import Keyframes
from neuralstyle.farm.sequences import Sequence
from neuralstyle.testing.faults import FaultPlan, InjectedError

# ----------------------------------------------------------------------------- frame ranges


@pytest.mark.parametrize(
    ("text", "frames"),
    [
        ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
        ("1-10x2", [1, 3, 5, 7, 9]),
        ("1-10:3", [1, 4, 7, 10]),  # Natron's step
        ("1,5,10-12", [1, 5, 10, 11, 12]),
        ("3-1", [3, 2, 1]),
        ("-2-1", [-2, -1, 0, 1]),
        ("-5--3", [-5, -4, -3]),
        (" 7 ", [7]),
        ("1-3, 2-4", [1, 2, 3, 4]),  # duplicates once, first place kept
    ],
)
def test_frame_ranges_in_nuke_and_natron_syntax(text: str, frames: list[int]) -> None:
    assert parse_frames(text) == frames
    assert parse_frames(format_frames(frames)) == frames


@pytest.mark.parametrize("text", ["", "a", "1-", "1-10x0", "1..3", "1-2-3", "1x2", ","])
def test_bad_frame_ranges_say_what_was_expected(text: str) -> None:
    with pytest.raises(InputError, match="frame range"):
        parse_frames(text)


def test_chunks_and_restriction() -> None:
    assert chunk(list(range(1, 11)), 4) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    shot = parse_frames("1-12x2")
    assert restrict(shot, parse_frames("1-7")) == [1, 3, 5, 7]  # a manager's START-END
    with pytest.raises(InputError, match="names no frame"):
        restrict(shot, [2, 4])
    with pytest.raises(InputError):
        chunk([1, 2], 0)


# ----------------------------------------------------------------------------- sequence names


@pytest.mark.parametrize(
    ("pattern", "frame", "path"),
    [
        ("/s/plate.####.exr", 7, "/s/plate.0007.exr"),
        ("/s/plate.#.exr", 7, "/s/plate.7.exr"),  # one '#' is one digit (fileseq HASH1)
        ("plate.%04d.exr", 1001, "plate.1001.exr"),
        ("plate.%d.exr", 12, "plate.12.exr"),
        ("plate.@@@.dpx", 5, "plate.005.dpx"),
        ("plate.####.exr", 123456, "plate.123456.exr"),
        ("plate.####.exr", -3, "plate.-003.exr"),  # printf: the sign counts towards the width
        ("still.exr", 9, "still.exr"),
    ],
)
def test_sequence_patterns(pattern: str, frame: int, path: str) -> None:
    assert str(Sequence.parse(pattern).path(frame)) == path


def test_sequence_errors_and_frames_on_disk(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="frame tokens"):
        Sequence.parse("a.##.%04d.exr")
    with pytest.raises(InputError, match="file name"):
        Sequence.parse("/shots/####/a.exr")
    for name in ("p.0001.exr", "p.0003.exr", "p.3.exr", "p.0002.exr.tmp", "q.0004.exr"):
        (tmp_path / name).write_bytes(b"")
    assert Sequence.parse(str(tmp_path / "p.####.exr")).frames_on_disk() == [1, 3]


# ----------------------------------------------------------------------------- keyframes


def test_doubles_interpolate_like_the_ofx_host() -> None:
    keys = Keyframes.from_sources(None, {"strength": "1001:0,1050:1,1060:0.25"})
    t0, v0, t1, v1 = 1001.0, 0.0, 1050.0, 1.0
    for frame in (1002, 1017, 1049):
        # tests/ofxhost/params.cpp: before + a * (after - before), a = (t - t0) / (t1 - t0)
        assert keys.at(frame)["strength"] == v0 + (frame - t0) / (t1 - t0) * (v1 - v0)
    assert keys.at(1050)["strength"] == 1.0
    assert keys.at(900)["strength"] == 0.0  # constant before the first key
    assert keys.at(2000)["strength"] == 0.25  # and after the last


def test_choices_step_and_files(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(
        "style: {1: mosaic, 10: teal-maze}\nstrength: {1: 0.5, 11: 1}\nstyle_blend: 0.3\n"
    )
    keys = Keyframes.from_sources(path, {"strength": "0.75"})  # the command line wins
    assert keys.at(9)["style"] == "mosaic"
    assert keys.at(10)["style"] == "teal-maze"
    assert keys.at(9.5)["style"] == "mosaic"  # step: the key at or before
    assert keys.at(5)["strength"] == 0.75
    assert keys.at(5)["style_blend"] == 0.3
    as_json = tmp_path / "keys.json"
    as_json.write_text(json.dumps({"strength": {"1": 0, "3": 1}}))
    assert Keyframes.from_sources(as_json).at(2)["strength"] == 0.5


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("strength: 2", "from 0 to 1"),
        ("strength: {a: 1}", "key frame"),
        ("colour: 1", "unknown parameter"),
        ("method: adain\nseed: 3", r"give them on the command line: --method, --seed\)"),
        ("[1, 2]", "mapping"),
        ("strength: {1: 0", "not valid"),
    ],
)
def test_bad_keyframe_files(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(content)
    with pytest.raises(InputError, match=match):
        Keyframes.from_sources(path)


def test_bad_keyframes_on_the_command_line() -> None:
    with pytest.raises(InputError, match="FRAME:VALUE"):
        Keyframes.from_sources(None, {"strength": "1:0,:1"})
    with pytest.raises(InputError, match="number"):
        Keyframes.from_sources(None, {"strength": "1:zero"})


# ----------------------------------------------------------------------------- environment


def test_gpu_choice_maps_into_cuda_visible_devices() -> None:
    env: dict[str, str] = {}
    prepare(gpu=1, env=env)
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"  # the order nvidia-smi and RQD number in

    env = {"CUDA_VISIBLE_DEVICES": "4,6"}  # a slot of two GPUs: --gpu indexes into it
    prepare(gpu=1, env=env)
    assert env["CUDA_VISIBLE_DEVICES"] == "6"
    with pytest.raises(InputError, match="only 2 GPU"):
        prepare(gpu=2, env={"CUDA_VISIBLE_DEVICES": "4,6"})

    env = {"CUE_GPU_CORES": "2,3"}  # OpenCue's RQD sets this, not CUDA_VISIBLE_DEVICES
    prepare(env=env)
    assert visible_gpus(env) == ["2", "3"]

    env = {"CUDA_VISIBLE_DEVICES": "1"}  # inherited (Dask-CUDA, SLURM): left alone
    assert prepare(env=env) == {}
    with pytest.raises(InputError, match="CUE_GPU_CORES"):
        prepare(env={"CUE_GPU_CORES": "gpu0"})


def test_thread_limits() -> None:
    env = {"CUE_THREADS": "3"}
    prepare(env=env)
    assert env["NEURALSTYLE_THREADS"] == env["OMP_NUM_THREADS"] == "3"
    env = {"CUE_THREADS": "3"}
    prepare(threads=2, env=env)  # --threads wins
    assert env["NEURALSTYLE_THREADS"] == "2"
    with pytest.raises(InputError):
        prepare(threads=0, env={})
    with pytest.raises(InputError):
        prepare(env={"CUE_THREADS": "many"})


def test_gpu_choice_is_refused_once_torch_is_loaded() -> None:
    import torch  # noqa: F401  # the situation being tested

    with pytest.raises(InputError, match="before torch loads"):
        prepare(gpu=0)


# ----------------------------------------------------------------------------- test hook


def test_fault_plan_is_off_by_default_and_counts_attempts(tmp_path: Path) -> None:
    assert FaultPlan.from_env({}) is None
    plan = FaultPlan.from_env(
        {"NEURALSTYLE_FARM_INJECT": "transient@3x2", "NEURALSTYLE_FARM_INJECT_STATE": str(tmp_path)}
    )
    assert plan is not None
    for _ in range(2):
        with pytest.raises(InjectedError):
            plan.before_frame(3)
    plan.before_frame(3)  # the third attempt passes
    plan.before_frame(4)
    with pytest.raises(InputError, match="KIND@FRAME"):
        FaultPlan.from_env({"NEURALSTYLE_FARM_INJECT": "explode@3"})
    with pytest.raises(InputError, match="STATE"):
        FaultPlan.from_env({"NEURALSTYLE_FARM_INJECT": "kill@3"})


# ----------------------------------------------------------------------------- job descriptions


def test_jobqueue_writes_a_gpu_batch_script() -> None:
    pytest.importorskip("dask_jobqueue")
    from neuralstyle.farm.dask_backend import ClusterSettings, jobqueue_cluster

    settings = ClusterSettings(
        cluster="slurm",
        workers=0,  # no job is submitted: there is no SLURM here
        cluster_options={"scheduler_options": {"host": "127.0.0.1", "dashboard_address": None}},
    )
    cluster = jobqueue_cluster(settings)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH --gres=gpu:1" in script
    assert "--resources GPU=1" in script


def test_farm_modules_import_no_torch() -> None:
    """Imports run inside hosts and before the GPU is chosen: nothing in farm/ may load torch."""
    import subprocess
    import sys

    code = (
        "import sys, neuralstyle.farm.render_command, neuralstyle.farm.job,"
        " neuralstyle.farm.preflight, neuralstyle.farm.frame_renderer,"
        " neuralstyle.farm.plate_channels, neuralstyle.farm.frame_stats,"
        " neuralstyle.farm.dask_backend, neuralstyle.farm.colour_stage,"
        " neuralstyle.farm.templates.opencue,"
        " neuralstyle.farm.templates.deadline, neuralstyle.io.plates, neuralstyle.io.ocio;"
        " print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_failed_frame_is_one_line_naming_the_error() -> None:
    import io

    from neuralstyle.errors import ImageIOError
    from neuralstyle.farm.log import FrameLog

    stream = io.StringIO()
    with FrameLog(1, "json", stream) as log:
        log.failed(1001, ImageIOError("disk full"))
    (line,) = stream.getvalue().splitlines()
    fields = json.loads(line)
    assert (fields["frame"], fields["status"], fields["error"]) == (1001, "failed", "ImageIOError")
    assert fields["time"].endswith("Z")
