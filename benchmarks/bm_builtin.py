"""CPU time of the built-in styles network: our PyTorch module against onnxruntime running the
shipped ONNX, on the same image, in the same process, interleaved.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_builtin.py [--threads N] [--size 1920x1080]

Prints a summary and writes ``benchmarks/results/bm_builtin-<UTC time>.json`` (method:
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from skimage import data, transform

from neuralstyle.methods.builtin import BuiltinStyles
from neuralstyle.models.styles import resolve_style, style_weights
from neuralstyle.models.weights import load_builtin_weights, locate_onnx

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--style", default="mosaic")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.lower().split("x"))
    torch.set_num_threads(args.threads)
    style = resolve_style(args.style)
    weights = style_weights(style)
    image = photo(width, height)

    ours = BuiltinStyles("cpu", weights=load_builtin_weights())
    x = torch.from_numpy(image)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    # idle onnxruntime workers otherwise spin for a while after each run, on the cores the
    # interleaved torch run needs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(locate_onnx()), options, providers=["CPUExecutionProvider"])
    feeds = {"image": image, "style_weights": weights.numpy()}
    runners: dict[str, Callable[[], np.ndarray]] = {
        "torch": lambda: ours(x, weights).numpy(),
        "onnxruntime": lambda: session.run(None, feeds)[0],
    }

    load_before = os.getloadavg()
    outputs: dict[str, np.ndarray] = {}
    for name, run in runners.items():
        for _ in range(args.warmup):
            outputs[name] = run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
        for name, run in runners.items():
            seconds, outputs[name] = timed(run)
            samples[name].append(seconds)
    load_after = os.getloadavg()

    now = dt.datetime.now(dt.UTC)
    ratio = statistics.median(samples["torch"]) / statistics.median(samples["onnxruntime"])
    result = {
        **run_record("bm_builtin", args.threads, load_before[0], load_after[0], now),
        "what": "one forward pass of the 26-style CIN network, CPU, batch 1",
        "onnxruntime_spinning": False,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
        },
        "image": {"source": "skimage.data.astronaut resized", "width": width, "height": height},
        "style": f"{style.index:02d} {style.name}",
        "warmup": args.warmup,
        "repeats": args.repeats,
        "results": {name: summary(s) for name, s in samples.items()},
        "ratio_torch_over_onnxruntime": ratio,
        "max_abs_diff": float(np.abs(outputs["torch"] - outputs["onnxruntime"]).max()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bm_builtin-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{result['device']}, {args.threads} threads, {width}x{height}, style {result['style']}")
    for name, s in samples.items():
        print(
            f"  {name:12s} median {statistics.median(s):.3f} s  "
            f"(min {min(s):.3f}, max {max(s):.3f}, n={len(s)})"
        )
    print(f"  torch / onnxruntime = {ratio:.2f}   max |diff| = {result['max_abs_diff']:.2e}")
    print(f"  load average {load_before[0]:.2f} -> {load_after[0]:.2f}; wrote {path}")


if __name__ == "__main__":
    main()
