"""Farm rendering on the CPU: sequence throughput with 1 and 2 Dask workers, the per-frame cost
of I/O and colour next to the stylisation, and whether the strict profile's bits depend on the
thread count.

    # throughput: N frames of W x H through `neuralstyle render` (OCIO ACEScg -> lin_rec709 ->
    # ACEScg, half EXR with a depth channel, ZIP), once per worker count, as separate processes
    PYTHONPATH=python .venv/bin/python benchmarks/bm_farm.py throughput \\
        --frames 100 --size 1920x1080 --workers 1 2 [--threads 1]

    # thread invariance: the engine's output hash for 1, 2 and 4 threads, oneDNN on and off,
    # over 43 frame sizes, each configuration in a fresh process; and 1080p time per setting
    PYTHONPATH=python .venv/bin/python benchmarks/bm_farm.py threads

Each writes ``benchmarks/results/bm_farm-<mode>-<UTC time>.json`` (method: benchmarks/README.md).
Throughput numbers: ``fps_end_to_end`` counts everything the user waits for (cluster start, the
render processes importing torch, the first model load); ``fps_steady`` is (frames - 1) over the
time between the first and the last frame's log line. ``overhead`` is read + colour + write of a
frame over its whole time, from the render's own per-frame log (median over frames).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> tuple[str, bool]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted", True
    return commit, bool(git("status", "--porcelain"))


def environment() -> dict[str, object]:
    import torch

    commit, dirty = git_commit()
    return {
        "commit": commit,
        "dirty": dirty,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
    }


def utc_stamp() -> str:
    """The UTC time that names a results file."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def write_result(
    name: str,
    env: dict[str, object],
    load_before: float,
    payload: dict[str, object],
    stamp: str | None = None,
) -> Path:
    """``results/<name>-<stamp>.json``: the environment (taken before the run), the load average
    before and now, and the benchmark's own ``payload``; prints the path."""
    result = {**env, "load_before": load_before, "load_after": os.getloadavg()[0], **payload}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{stamp or utc_stamp()}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(path)
    return path


def write_sequence(folder: Path, frames: int, width: int, height: int) -> str:
    """Scene-linear ACEScg-ish plates: RGBA half (highlights to 6) and depth.Z float, ZIP."""
    import OpenImageIO as oiio  # noqa: N813

    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for frame in range(1, frames + 1):
        rgb = np.stack(
            [
                0.45 + 0.4 * np.sin(xx / 37.0 + frame * 0.1),
                0.45 + 0.4 * np.cos(yy / 23.0 - frame * 0.1),
                0.3 + 0.25 * np.sin((xx + yy) / 51.0),
            ],
            axis=-1,
        )
        rgb[: height // 6, : width // 6] *= 6.0
        pixels = np.concatenate(
            [rgb, np.ones((height, width, 1)), (xx + yy)[..., None]], axis=-1
        ).astype(np.float32)
        spec = oiio.ImageSpec(width, height, 5, "half")
        spec.channelnames = ("R", "G", "B", "A", "depth.Z")
        spec.alpha_channel = 3
        spec.channelformats = (oiio.TypeHalf,) * 4 + (oiio.TypeFloat,)
        spec.attribute("compression", "zip")
        path = folder / f"plate.{frame:04d}.exr"
        out = oiio.ImageOutput.create(str(path))
        assert out is not None
        out.open(str(path), spec)
        out.write_image(pixels)
        out.close()
    return str(folder / "plate.####.exr")


def run_render(
    pattern: str, out: Path, frames: int, workers: int, threads: int | None
) -> dict[str, object]:
    args = [
        sys.executable, "-m", "neuralstyle.farm", "render", pattern,
        "-o", str(out / "s.####.exr"), "--frames", f"1-{frames}", "--device", "cpu",
        "--style", "mosaic", "--ocio", "ocio://studio-config-latest", "--in-cs", "ACEScg",
        "--log-format", "json", "--workers", str(workers), "--chunk-size", "1",
    ]  # fmt: skip
    if threads is not None:
        args += ["--threads", str(threads)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p
    )
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    records: list[tuple[float, dict[str, object]]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("status") == "done":
                records.append((time.perf_counter() - start, record))
    code = proc.wait()
    wall = time.perf_counter() - start
    if code != 0 or len(records) != frames:
        raise SystemExit(f"render failed (exit {code}, {len(records)} frames)")
    stages = [r for _, r in records]
    # When each frame was written, from the render's own log (results reach the client per task).
    times = sorted(dt.datetime.fromisoformat(str(r["time"])).timestamp() for r in stages)

    def median(key: str) -> float:
        return statistics.median(float(str(r[key])) for r in stages)

    overhead = [
        (float(str(r["read"])) + float(str(r["colour_in"])) + float(str(r["colour_out"]))
         + float(str(r["write"]))) / float(str(r["seconds"]))
        for r in stages
    ]  # fmt: skip
    return {
        "workers": workers,
        "threads_per_worker": threads or "cores / workers",
        "wall_s": wall,
        "fps_end_to_end": frames / wall,
        "fps_steady": (frames - 1) / (times[-1] - times[0]) if frames > 1 else None,
        "first_frame_s": records[0][0],
        "median_frame_s": median("seconds"),
        "median_stylise_s": median("stylise"),
        "median_read_s": median("read"),
        "median_colour_s": statistics.median(
            float(str(r["colour_in"])) + float(str(r["colour_out"])) for r in stages
        ),
        "median_write_s": median("write"),
        "median_overhead_fraction": statistics.median(overhead),
        "render_pids": len({r["pid"] for r in stages}),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "frames_log": stages,
    }


def throughput(args: argparse.Namespace) -> dict[str, object]:
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="bm_farm_") as tmp:
        pattern = write_sequence(Path(tmp) / "plates", args.frames, width, height)
        runs = []
        for workers in args.workers:
            out = Path(tmp) / f"out{workers}"
            runs.append(run_render(pattern, out, args.frames, workers, args.threads))
            print(
                f"workers={workers}: {runs[-1]['fps_steady']:.3f} fps steady, "
                f"{runs[-1]['fps_end_to_end']:.3f} fps end to end, "
                f"overhead {100 * float(str(runs[-1]['median_overhead_fraction'])):.1f} %"
            )
    result: dict[str, object] = {
        "mode": "throughput",
        "frames": args.frames,
        "size": args.size,
        "runs": runs,
    }
    if len(runs) >= 2:
        result["scaling_steady"] = float(str(runs[1]["fps_steady"])) / float(
            str(runs[0]["fps_steady"])
        )
        scaling = float(str(result["scaling_steady"]))
        print(f"scaling {args.workers[1]} vs {args.workers[0]} workers: {scaling:.2f}x")
    return result


def _sizes(count: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(5)
    sizes = [(int(h), int(w)) for h, w in rng.integers(8, 400, size=(count, 2))]
    return [*sizes, (48, 64), (97, 161), (540, 960)]


def hashes(args: argparse.Namespace) -> dict[str, object]:
    """One configuration in this (fresh) process: the thread count and oneDNN are set before the
    first render and never changed (changing them later in a process changes later results)."""
    import torch

    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = bool(args.mkldnn)  # type: ignore[assignment]  # ContextProp
    torch.use_deterministic_algorithms(True)
    from neuralstyle.api import stylize

    out: dict[str, str] = {}
    for h, w in _sizes(args.sizes):
        image = np.random.default_rng(h * 1000 + w).random((h, w, 3), dtype=np.float32) * 2
        out[f"{h}x{w}"] = hashlib.sha1(stylize(image, "mosaic", device="cpu").tobytes()).hexdigest()
    frame = np.random.default_rng(0).random((1080, 1920, 3), dtype=np.float32)
    stylize(frame, "mosaic", device="cpu")  # warm-up
    samples = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        stylize(frame, "mosaic", device="cpu")
        samples.append(time.perf_counter() - start)
    return {"hashes": out, "samples_1080p_s": samples}


def threads(args: argparse.Namespace) -> dict[str, object]:
    configs = [(t, m) for m in (1, 0) for t in (1, 2, 4)]
    runs: dict[str, dict[str, object]] = {}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p
    )
    for count, mkldnn in configs:
        load_before = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, __file__, "_hashes", "--threads", str(count), "--mkldnn", str(mkldnn),
             "--sizes", str(args.sizes), "--repeats", str(args.repeats)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["load_before"], result["load_after"] = load_before, os.getloadavg()[0]
        runs[f"threads={count} mkldnn={mkldnn}"] = result
    summary: dict[str, object] = {}
    for mkldnn in (1, 0):
        keys = [f"threads={t} mkldnn={mkldnn}" for t in (1, 2, 4)]
        base = runs[keys[0]]["hashes"]
        assert isinstance(base, dict)
        differ = sorted(
            size
            for size in base
            if len({str(runs[k]["hashes"][size]) for k in keys}) > 1  # type: ignore[index]
        )
        summary[f"mkldnn={mkldnn}: sizes where 1/2/4 threads differ"] = differ
        for k in keys[:2]:
            samples = runs[k]["samples_1080p_s"]
            assert isinstance(samples, list)
            summary[f"{k}: 1080p median s"] = statistics.median(samples)
    on, off = runs["threads=1 mkldnn=1"]["hashes"], runs["threads=1 mkldnn=0"]["hashes"]
    assert isinstance(on, dict) and isinstance(off, dict)
    summary["sizes where oneDNN on/off differ (1 thread)"] = sum(on[s] != off[s] for s in on)
    print(json.dumps(summary, indent=1))
    return {"mode": "threads", "sizes": list(on), "summary": summary, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    tp = modes.add_parser("throughput")
    tp.add_argument("--frames", type=int, default=100)
    tp.add_argument("--size", default="1920x1080", help="WxH")
    tp.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    tp.add_argument("--threads", type=int, help="per worker (default: cores / workers)")
    for name in ("threads", "_hashes"):
        th = modes.add_parser(name)
        th.add_argument("--sizes", type=int, default=40, help="random frame sizes to try")
        th.add_argument("--repeats", type=int, default=3)
        th.add_argument("--threads", type=int, default=1)
        th.add_argument("--mkldnn", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "_hashes":  # one configuration, in its own process (used by `threads`)
        print(json.dumps(hashes(args)))
        return
    result = throughput(args) if args.mode == "throughput" else threads(args)
    result["environment"] = environment()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bm_farm-{args.mode}-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
