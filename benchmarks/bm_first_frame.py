"""The node's first frame in a fresh host process, and what it costs beyond a steady frame.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_first_frame.py [--size 960x540]
        [--rounds 3] [--style mosaic]

Method: our headless OpenFX host (``build/tests/ofxhost/ofxhost``) loads the bundle, starts the
plugin's own Python, and renders frames of a scene-linear RGBA plate (scikit-image's astronaut
scaled to the size) with the built-in style, as a compositor's first render of the node does. Per
configuration, in alternating rounds, the wall time of a process rendering 1 frame (``T1``) and
one rendering 3 (``T3``); a steady frame is ``(T3 - T1) / 2`` and the first frame's extra cost
``T1 - steady``. Both include the host's own start and the ``.npy`` reads and writes (a few ms).

Configurations: ``after`` is the engine as shipped (the compiled network where ``neuralstyle
compile`` built it); ``before`` renders with ``NEURALSTYLE_COMPILE=off`` and
``THP_MEM_ALLOC_ENABLE=0`` (4 KB pages, torch's default), the network as it was before issue
13. ``import`` is a Python process that only imports torch and the engine's render entry
(``neuralstyle.host``).

Writes ``benchmarks/results/bm_first_frame-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage import data, transform

from bm_farm import environment, write_result

ROOT = Path(__file__).resolve().parents[1]
HOST = ROOT / "build" / "tests" / "ofxhost" / "ofxhost"
BUNDLE = ROOT / "build" / "NeuralStyle.ofx.bundle"
CONFIGS = {
    "before": {"NEURALSTYLE_COMPILE": "off", "THP_MEM_ALLOC_ENABLE": "0"},
    "after": {},
}


def write_plate(folder: Path, width: int, height: int) -> str:
    rgb = transform.resize(data.astronaut(), (height, width), order=1).astype(np.float32)
    rgba = np.concatenate([rgb**2.2, np.ones((height, width, 1), np.float32)], axis=2)
    for i in range(1, 4):
        np.save(folder / f"plate.{i:04d}.npy", rgba)
    return str(folder / "plate.%04d.npy")


def host_seconds(plate: str, frames: int, out: Path, style: str, env: dict[str, str]) -> float:
    command = [str(HOST), "--bundle", str(BUNDLE), "--input", plate, "--frames", f"1-{frames}",
               "--out-dir", str(out), "--param", f"style={style}"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def import_seconds(env: dict[str, str]) -> float:
    start = time.perf_counter()
    code = "import torch, neuralstyle.host"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--style", default="mosaic")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    env_record, load_before = environment(), os.getloadavg()[0]
    base = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    samples: dict[str, dict[str, list[float]]] = {"import": {"seconds": []}}
    samples.update({name: {"T1": [], "T3": []} for name in CONFIGS})
    with tempfile.TemporaryDirectory(prefix="bm-first-frame-") as tmp:
        plate = write_plate(Path(tmp), width, height)
        for _ in range(args.rounds):
            for name, extra in CONFIGS.items():
                env = {**base, **extra}
                for frames in (1, 3):
                    seconds = host_seconds(plate, frames, Path(tmp) / "out", args.style, env)
                    samples[name][f"T{frames}"].append(seconds)
            samples["import"]["seconds"].append(import_seconds(base))
    summary: dict[str, dict[str, float]] = {}
    for name in CONFIGS:
        t1, t3 = (statistics.median(samples[name][k]) for k in ("T1", "T3"))
        steady = (t3 - t1) / 2
        summary[name] = {"first_frame_s": t1, "steady_frame_s": steady, "extra_s": t1 - steady}
        print(f"  {name:7s} first frame {t1:.2f} s, steady {steady:.2f} s, extra {t1 - steady:.2f}")
    imports = statistics.median(samples["import"]["seconds"])
    print(f"  python + torch + neuralstyle.host import: {imports:.2f} s")
    write_result(
        "bm_first_frame",
        env_record,
        load_before,
        {
            "size": [width, height],
            "style": args.style,
            "rounds": args.rounds,
            "configs": CONFIGS,
            "samples": samples,
            "summary": summary,
            "import_s": imports,
        },
    )


if __name__ == "__main__":
    main()
