"""Time per frame and peak memory of each method at 512, 1080p and 4K, through the whole engine.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_method_speed.py [--device cpu|cuda]
        [--sizes 512,1080p,4k] [--methods builtin,fast,adain,optimize] [--repeats 5] [--threads 2]

What is timed: one :func:`neuralstyle.stylize` call on a scene-linear float32 RGBA plate
(scikit-image's astronaut scaled to the size, premultiplied, alpha 1), the style a photograph
(chelsea) for the arbitrary-style methods and ``mosaic`` for the built-in ones: colour in,
stylise, colour out, exactly what the node renders. Rules of benchmarks/README.md: a warm-up
call, then ``--repeats`` timed calls, median, min and max; on CUDA synchronised inside the timed
region.

Optimisation is not timed to the end of a frame: a frame is ``steps`` evaluations at each
pyramid level (``standard``: 200 per level), which on a CPU at 1080p is hours. The script times
two whole-pyramid calls, with A and B evaluations per level (``--opt-evals A,B``, after a
warm-up call); their difference gives the seconds per step (one evaluation at every level), and
the derived frame time is ``T(A) + (200 - A) * step``, marked ``derived``. Frames whose
estimated memory (:func:`neuralstyle.methods.optimize.estimate_memory`) exceeds 80 % of the
machine's are not run and say so.

Peak memory: each (method, size) case runs in a fresh process; on the CPU the process's resident
high-water mark (``ru_maxrss``) minus the same process's mark before the first call (the
imports, the loaded model is counted), on CUDA ``torch.cuda.max_memory_allocated``.

Results: ``benchmarks/results/bm_method_speed-<UTC time>.json`` with commit, device, threads,
load average and every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

SIZES = {"512": (512, 512), "1080p": (1080, 1920), "4k": (2160, 3840)}
METHODS = ("builtin", "fast", "adain", "optimize")
_OPTIMIZE_STEPS = 200  # the "standard" preset: evaluations per pyramid level


def _plate(size: tuple[int, int]) -> np.ndarray:
    from skimage import data, transform

    rgb = transform.resize(data.astronaut(), size, anti_aliasing=True).astype(np.float32)
    linear = rgb**2.2
    return np.ascontiguousarray(np.concatenate([linear, np.ones((*size, 1), np.float32)], axis=2))


def _style() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.chelsea())


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _peak_mb(device: str, base: float) -> float:
    if device == "cuda":
        import torch

        return float(torch.cuda.max_memory_allocated()) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 - base


def run_case(
    method: str, size_name: str, device: str, repeats: int, opt_evals: tuple[int, int]
) -> dict:
    """One (method, size) in this process; returns the JSON record."""
    import torch

    import neuralstyle
    from neuralstyle.methods.optimize import OptimizeSettings, estimate_memory, pyramid_sizes

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    size = SIZES[size_name]
    plate = _plate(size)
    style = "mosaic" if method == "builtin" else _style()
    record: dict = {"method": method, "size": size_name, "shape": list(size)}
    if method != "optimize":

        def frame() -> None:
            neuralstyle.stylize(plate, style, method=method, device=device)
            _sync(device)

        frame()  # warm-up
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            frame()
            samples.append(time.perf_counter() - t)
        record |= {
            "median_s": statistics.median(samples),
            "min_s": min(samples),
            "max_s": max(samples),
            "samples": samples,
        }
    else:
        need = estimate_memory(size, OptimizeSettings())
        available = (
            torch.cuda.mem_get_info()[0]
            if device == "cuda"
            else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        )
        record["estimated_bytes"] = need
        if need > 0.8 * available:
            record["skipped"] = (
                f"estimated {need / 2**30:.1f} GiB exceeds 80 % of the "
                f"{available / 2**30:.1f} GiB here"
            )
            return record

        def frame(steps: int) -> float:
            t = time.perf_counter()
            neuralstyle.stylize(plate, style, method="optimize", steps=steps, device=device)
            _sync(device)
            return time.perf_counter() - t

        few, many = opt_evals
        frame(1)  # warm-up
        t_few, t_many = frame(few), frame(many)
        per_step = (t_many - t_few) / (many - few)  # one evaluation at every level
        record |= {
            "pyramid": [list(s) for s in pyramid_sizes(size)],
            "timed": {str(few): t_few, str(many): t_many},
            "seconds_per_step": per_step,
            "setup_s": t_few - few * per_step,
            "derived_frame_s": t_few + (_OPTIMIZE_STEPS - few) * per_step,
            "derived": f"T({few}) + ({_OPTIMIZE_STEPS} - {few}) x (T({many}) - T({few})) / "
            f"{many - few}: the standard preset, {_OPTIMIZE_STEPS} evaluations per level",
        }
    record["peak_mb"] = _peak_mb(device, base)
    return record


def _meta(device: str, threads: int) -> dict:
    import torch

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "commit": commit or "uncommitted",
        "dirty": dirty,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name() if device == "cuda" else cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--sizes", default="512,1080p,4k")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--opt-evals", default="2,6", help="A,B: evaluations per level of the two runs")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--case", help=argparse.SUPPRESS)  # internal: METHOD:SIZE in this process
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    if a.case:
        method, size = a.case.split(":")
        few, many = (int(v) for v in a.opt_evals.split(","))
        print(json.dumps(run_case(method, size, a.device, a.repeats, (few, many))))
        return 0
    if a.device == "cuda" and not torch.cuda.is_available():
        print("bm_method_speed: no CUDA device here; nothing measured")
        return 0
    result = {**_meta(a.device, a.threads), "load_before": os.getloadavg()[0], "cases": []}
    for method in a.methods.split(","):
        for size in a.sizes.split(","):
            args = [sys.executable, __file__, "--case", f"{method}:{size}", "--device", a.device,
                    "--repeats", str(a.repeats), "--threads", str(a.threads),
                    "--opt-evals", a.opt_evals]  # fmt: skip
            proc = subprocess.run(args, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                case = {"method": method, "size": size, "error": proc.stderr.strip()[-2000:]}
            else:
                case = json.loads(proc.stdout.strip().splitlines()[-1])
            result["cases"].append(case)
            print(json.dumps({k: v for k, v in case.items() if k != "samples"}), flush=True)
    result["load_after"] = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = a.out or Path(__file__).parent / "results" / f"bm_method_speed-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
