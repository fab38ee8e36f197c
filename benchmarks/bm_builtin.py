"""CPU time and memory of the built-in styles against onnxruntime running the shipped ONNX.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_builtin.py [--threads N] [--size 1920x1080]
        [--memory]

Time: in one process, on the same image, interleaved rounds of

- ``stylize``: :func:`neuralstyle.stylize` as the node calls it (strict profile, a scene-linear
  float32 RGB frame in, the frame out: colour conversion, the network, strength and alpha);
- ``module``: the network as the engine holds it (:class:`BuiltinStyles`: compiled for this CPU
  where ``neuralstyle compile`` built it, as setup does);
- ``eager``: the same network op by op (what ``NEURALSTYLE_COMPILE=off`` renders);
- ``onnxruntime``: the shipped ``multistyle26.onnx`` on its CPU provider.

``--memory``: each of the four in a fresh process of its own (only what it imports), one warm-up
and one timed frame; the peak resident set size of that process (``ru_maxrss``).

``--keep-memory 0``: without the engine's frame arena (``NEURALSTYLE_KEEP_MEMORY=0``,
:mod:`neuralstyle.engine.frame_arena`): every frame maps its memory afresh, as before it.

Prints a summary and writes ``benchmarks/results/bm_builtin-<UTC time>.json`` (method:
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from skimage import data, transform

# torch, onnxruntime and neuralstyle are imported by the runners that need them: a --memory
# worker holds only its own runtime, as a process that renders with it would.
RESULTS = Path(__file__).parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> tuple[str, bool]:
    """The commit the working tree is on and whether it has changes; "uncommitted" without one."""

    def git(*args: str) -> str:
        root = Path(__file__).parent
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted", True
    return commit, bool(git("status", "--porcelain"))


def run_record(
    name: str, threads: int, load_before: float, load_after: float, now: dt.datetime
) -> dict[str, object]:
    """The head every results JSON starts with (README.md, rule 7)."""
    commit, dirty = git_commit()
    return {
        "benchmark": name,
        "commit": commit,
        "dirty": dirty,
        "date": now.isoformat(timespec="seconds"),
        "device": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "load_average_1min": {"before": load_before, "after": load_after},
    }


def photo(width: int, height: int) -> np.ndarray:
    """scikit-image's astronaut scaled to the frame size: float32 (1, 3, H, W) in [0, 1]."""
    img = transform.resize(data.astronaut(), (height, width), order=1, anti_aliasing=False)
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def summary(samples: list[float]) -> dict[str, float | list[float]]:
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": samples,
    }


RUNNERS = ("stylize", "module", "eager", "onnxruntime")


def make_runner(name: str, image: np.ndarray, style_name: str) -> Callable[[], np.ndarray]:
    """One frame of ``name`` on ``image`` ((1, 3, H, W) display-referred), returning its RGB."""
    if name == "onnxruntime":
        import onnxruntime as ort

        onnx_path, one_hot = os.environ.get(_ONNX_ENV, ""), os.environ.get(_STYLE_ENV, "")
        if not onnx_path:  # in the timing process, which holds torch anyway
            onnx_path, one_hot = _onnx_inputs(style_name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        # idle onnxruntime workers otherwise spin for a while after each run, on the cores the
        # interleaved torch runs need
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        weights = np.array([float(v) for v in one_hot.split(",")], dtype=np.float32)
        feeds = {"image": image, "style_weights": weights}
        return lambda: session.run(None, feeds)[0]

    import torch

    import neuralstyle
    from neuralstyle.engine import determinism
    from neuralstyle.methods.builtin import load_builtin
    from neuralstyle.models.styles import resolve_style, style_weights
    from neuralstyle.pixel_encoding import srgb_decode

    determinism.ensure()  # the strict profile, threads from NEURALSTYLE_THREADS, for all three
    mix = style_weights(resolve_style(style_name))
    if name == "stylize":
        # what a compositor hands the node: scene-linear float RGB, height x width x 3
        display = torch.from_numpy(np.ascontiguousarray(image[0].transpose(1, 2, 0)))
        linear = srgb_decode(display).numpy()
        return lambda: neuralstyle.stylize(linear, style_name, device="cpu")
    network = load_builtin("cpu")
    x = torch.from_numpy(image)
    if name == "module":
        return lambda: network(x, mix).numpy()

    def eager() -> np.ndarray:
        with torch.inference_mode():
            out: np.ndarray = network.net(x, mix).numpy()
            return out

    return eager


# The onnxruntime worker gets the model's path and the style's weights from its parent, so that
# it never imports torch (0.5 GB resident) and measures what an onnxruntime process holds.
_ONNX_ENV, _STYLE_ENV = "BM_BUILTIN_ONNX", "BM_BUILTIN_STYLE_WEIGHTS"


def _onnx_inputs(style_name: str) -> tuple[str, str]:
    from neuralstyle.models.styles import resolve_style, style_weights
    from neuralstyle.models.weights import locate_onnx

    weights = style_weights(resolve_style(style_name)).tolist()
    return str(locate_onnx()), ",".join(repr(v) for v in weights)


def _threads() -> int:
    return int(os.environ["NEURALSTYLE_THREADS"])


def worker(name: str, width: int, height: int, style_name: str) -> None:
    """--memory: one runner alone in this process; prints its numbers as JSON."""
    run = make_runner(name, photo(width, height), style_name)
    loaded_mb = _rss_mb()  # runtime imported, network loaded, the frame in memory
    run()
    seconds, _ = timed(run)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "runner": name,
                "peak_rss_mb": peak_kib / 1024,
                "rss_before_first_frame_mb": loaded_mb,
                "seconds": seconds,
            }
        )
    )


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(args: argparse.Namespace, width: int, height: int) -> dict[str, object]:
    """Each runner's peak RSS in a fresh process, in the order of RUNNERS."""
    out = {}
    onnx = _onnx_inputs(args.style)
    for name in RUNNERS:
        command = [sys.executable, __file__, "--worker", name, "--size", args.size,
                   "--style", args.style]  # fmt: skip
        env = {**_env(args), **dict(zip((_ONNX_ENV, _STYLE_ENV), onnx, strict=True))}
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        row = out[name]
        print(
            f"  {name:12s} peak RSS {row['peak_rss_mb']:6.0f} MB, before the first frame "
            f"{row['rss_before_first_frame_mb']:5.0f} MB"
        )
    return out


def _env(args: argparse.Namespace) -> dict[str, str]:
    env = {**os.environ, "NEURALSTYLE_THREADS": str(args.threads),
           "OMP_NUM_THREADS": str(args.threads)}  # fmt: skip
    env.pop("NEURALSTYLE_KEEP_MEMORY", None)
    if args.keep_memory is not None:
        env["NEURALSTYLE_KEEP_MEMORY"] = args.keep_memory
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--style", default="mosaic")
    parser.add_argument("--memory", action="store_true", help="peak RSS, a process each")
    parser.add_argument(
        "--keep-memory",
        choices=("0", "1"),
        help="NEURALSTYLE_KEEP_MEMORY: 0 renders without the frame arena (default: unset, on)",
    )
    parser.add_argument("--worker", choices=RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.worker:
        worker(args.worker, width, height, args.style)
        return
    os.environ.update(_env(args))
    load_before = os.getloadavg()
    if args.memory:
        payload: dict[str, object] = {"memory": memory(args, width, height)}
    else:
        payload = timing(args, width, height)
    load_after = os.getloadavg()
    now = dt.datetime.now(dt.UTC)
    result = {
        **run_record("bm_builtin", args.threads, load_before[0], load_after[0], now),
        "what": "one 1080p-class frame of the 26-style CIN network, CPU, batch 1",
        "versions": _versions(),
        "image": {"source": "skimage.data.astronaut resized", "width": width, "height": height},
        "style": args.style,
        "keep_memory": args.keep_memory,
        **payload,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bm_builtin-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  load average {load_before[0]:.2f} -> {load_after[0]:.2f}; wrote {path}")


def timing(args: argparse.Namespace, width: int, height: int) -> dict[str, object]:
    """Interleaved rounds of every runner in this process; ratios of medians to onnxruntime."""
    image = photo(width, height)
    runners = {name: make_runner(name, image, args.style) for name in RUNNERS}
    outputs: dict[str, np.ndarray] = {}
    for name, run in runners.items():
        for _ in range(args.warmup):
            outputs[name] = run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
        for name, run in runners.items():
            seconds, outputs[name] = timed(run)
            samples[name].append(seconds)
    ort_median = statistics.median(samples["onnxruntime"])
    ratios = {name: statistics.median(s) / ort_median for name, s in samples.items()}
    print(f"{cpu_model()}, {args.threads} threads, {width}x{height}, style {args.style}")
    for name, s in samples.items():
        print(
            f"  {name:12s} median {statistics.median(s):.3f} s  (min {min(s):.3f}, "
            f"max {max(s):.3f}, n={len(s)})  / onnxruntime {ratios[name]:.2f}"
        )
    module, onnx = outputs["module"], outputs["onnxruntime"]
    return {
        "warmup": args.warmup,
        "repeats": args.repeats,
        "results": {name: summary(s) for name, s in samples.items()},
        "ratio_over_onnxruntime": ratios,
        "max_abs_diff_module_onnxruntime": float(np.abs(module - onnx).max()),
        "max_abs_diff_module_eager": float(np.abs(module - outputs["eager"]).max()),
    }


def _versions() -> dict[str, str]:
    import onnxruntime as ort
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": ort.__version__, "numpy": np.__version__}  # fmt: skip


if __name__ == "__main__":
    main()
