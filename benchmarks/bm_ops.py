"""GPU time of our CUDA kernels (Gram, IN with fused ReLU, CIN, AdaIN) against torch, at the
feature shapes of VGG-19's style layers and of the built-in feed-forward network, 1080p and 4K.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_ops.py [--require-gpu] [--sizes 1080p,4k]
        [--dtypes f32,f16,bf16] [--ops gram,in,cin,adain] [--repeats 30] [--out DIR]

Without a CUDA GPU, or without CuPy there, it says so and exits 0 (1 with ``--require-gpu``).
Otherwise it prints a table and writes ``benchmarks/results/bm_ops-<UTC time>.json``. Method:
benchmarks/README.md, section "Ops kernels (GPU)".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from neuralstyle.ops import _cuda, _gram_cuda, _instance_norm_cuda

RESULTS = Path(__file__).parent / "results"
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
SIZES = {"1080p": (1080, 1920), "4k": (2160, 3840)}
#: VGG-19 style layers: channels and the max-pool halvings (floor) before them.
VGG_STYLE_LAYERS = [("relu1_1", 64, 0), ("relu2_1", 128, 1), ("relu3_1", 256, 2)]
VGG_STYLE_LAYERS += [("relu4_1", 512, 3), ("relu5_1", 512, 4)]
#: The 26-style CIN network (models/cin_net.py): channels and stride-2 halvings of each norm.
FFN_NORMS = [("contract0", 32, 0), ("contract1", 32, 1), ("contract2+res", 32, 2)]
FFN_NORMS += [("expand0", 8, 1), ("expand1", 4, 0), ("expand2", 3, 0)]
EPS = 1e-5


@dataclass
class Case:
    op: str
    layer: str
    size: str
    dtype: str
    shape: tuple[int, int, int, int]
    min_bytes: int  # every input read once, every output written once
    flops: int  # useful floating-point operations (Gram: the full GEMM, 2 B C^2 N)
    make: Callable[[], dict[str, Any]]  # one input set
    ours: Callable[[dict[str, Any]], Tensor]
    torch: Callable[[dict[str, Any]], Tensor]


def git_commit() -> tuple[str, bool]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted", True


def halve(size: tuple[int, int], times: int) -> tuple[int, int]:
    h, w = size
    for _ in range(times):
        h, w = h // 2, w // 2
    return h, w


def features(shape: tuple[int, int, int, int], dtype: torch.dtype) -> Tensor:
    # ReLU-like activations (non-negative, mean near 1); never zeros, which time differently
    return (torch.rand(shape, device="cuda") * 2).to(dtype)


def torch_adain(x: Tensor, mean: Tensor, std: Tensor, alpha: float) -> Tensor:
    """The unfused composition (naoto0804/pytorch-AdaIN) in the input's dtype."""
    var, mu = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=1)
    y = (x - mu) / (var + EPS).sqrt() * std + mean
    return alpha * y + (1 - alpha) * x


def element_size(dtype: torch.dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


def gram_case(layer: str, size: str, dname: str, shape: tuple[int, int, int, int]) -> Case:
    dtype, c, n = DTYPES[dname], shape[1], shape[2] * shape[3]

    def make() -> dict[str, Any]:
        return {"x": features(shape, dtype)}

    def ours(d: dict[str, Any]) -> Tensor:
        return _gram_cuda.gram_matrix_cuda(d["x"])

    def baseline(d: dict[str, Any]) -> Tensor:
        f = d["x"].flatten(2)
        return torch.baddbmm(
            torch.empty(0, device="cuda", dtype=dtype), f, f.mT, beta=0, alpha=1 / n
        )

    bytes_ = c * n * element_size(dtype) + c * c * 4
    return Case("gram", layer, size, dname, shape, bytes_, 2 * c * c * n, make, ours, baseline)


def adain_case(layer: str, size: str, dname: str, shape: tuple[int, int, int, int]) -> Case:
    dtype, c, n = DTYPES[dname], shape[1], shape[2] * shape[3]

    def make() -> dict[str, Any]:
        return {
            "x": features(shape, dtype),
            "m": torch.rand(1, c, 1, 1, device="cuda").to(dtype),
            "s": (torch.rand(1, c, 1, 1, device="cuda") + 0.5).to(dtype),
        }

    def ours(d: dict[str, Any]) -> Tensor:
        return _instance_norm_cuda.adain_cuda(d["x"], d["m"], d["s"], 0.8, EPS)

    def baseline(d: dict[str, Any]) -> Tensor:
        return torch_adain(d["x"], d["m"], d["s"], 0.8)

    bytes_ = 2 * c * n * element_size(dtype)
    return Case("adain", layer, size, dname, shape, bytes_, 0, make, ours, baseline)


def in_case(layer: str, size: str, dname: str, shape: tuple[int, int, int, int]) -> Case:
    dtype, c, n = DTYPES[dname], shape[1], shape[2] * shape[3]

    def make() -> dict[str, Any]:
        w, b = torch.rand(c, device="cuda"), torch.rand(c, device="cuda")
        return {"x": features(shape, dtype), "w": w.to(dtype), "b": b.to(dtype)}

    def ours(d: dict[str, Any]) -> Tensor:
        return _instance_norm_cuda.instance_norm_cuda(d["x"], d["w"], d["b"], EPS, relu=True)

    def baseline(d: dict[str, Any]) -> Tensor:
        return F.relu(F.instance_norm(d["x"], weight=d["w"], bias=d["b"], eps=EPS))

    bytes_ = 2 * c * n * element_size(dtype)
    return Case("in+relu", layer, size, dname, shape, bytes_, 0, make, ours, baseline)


def cin_case(layer: str, size: str, dname: str, shape: tuple[int, int, int, int]) -> Case:
    dtype, c, n = DTYPES[dname], shape[1], shape[2] * shape[3]

    def make() -> dict[str, Any]:
        w = torch.softmax(torch.rand(26, device="cuda"), 0)
        g, b = torch.rand(26, c, device="cuda"), torch.rand(26, c, device="cuda")
        return {"x": features(shape, dtype), "w": w.to(dtype), "g": g.to(dtype), "b": b.to(dtype)}

    def ours(d: dict[str, Any]) -> Tensor:
        return _instance_norm_cuda.conditional_instance_norm_cuda(
            d["x"], d["w"], d["g"], d["b"], EPS
        )

    def baseline(d: dict[str, Any]) -> Tensor:
        return F.instance_norm(d["x"], weight=d["w"] @ d["g"], bias=d["w"] @ d["b"], eps=EPS)

    bytes_ = 2 * c * n * element_size(dtype)
    return Case("cin", layer, size, dname, shape, bytes_, 0, make, ours, baseline)


def cases(sizes: list[str], dtypes: list[str], ops: list[str]) -> list[Case]:
    out: list[Case] = []
    for size, dname in ((s, d) for s in sizes for d in dtypes):
        for layer, c, pools in VGG_STYLE_LAYERS:
            shape = (1, c, *halve(SIZES[size], pools))
            out += [gram_case(layer, size, dname, shape)] if "gram" in ops else []
            out += [adain_case(layer, size, dname, shape)] if "adain" in ops else []
        for layer, c, halvings in FFN_NORMS:
            shape = (1, c, *halve(SIZES[size], halvings))
            out += [in_case(layer, size, dname, shape)] if "in" in ops else []
            out += [cin_case(layer, size, dname, shape)] if "cin" in ops else []
    return out


def copy_bandwidth(repeats: int) -> float:
    """Bytes read plus bytes written per second by a 1 GiB device-to-device copy."""
    src = torch.rand(2**28, device="cuda")
    dst = torch.empty_like(src)
    times = time_calls([lambda: dst.copy_(src)], [{}], repeats)[0]
    return 2 * src.numel() * 4 / statistics.median(times)


def matmul_rate(dtype: torch.dtype, repeats: int) -> float:
    """FLOP/s of an 8192^3 matrix product (float32 without TF32)."""
    a = torch.rand(8192, 8192, device="cuda").to(dtype)
    b = torch.rand(8192, 8192, device="cuda").to(dtype)
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        times = time_calls([lambda: a @ b], [{}], repeats)[0]
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return 2 * 8192**3 / statistics.median(times)


def time_calls(
    fns: list[Callable[..., Any]], sets: list[dict[str, Any]], repeats: int, warmup: int = 3
) -> list[list[float]]:
    """Seconds per call of each fn, interleaved, rotating over the input sets, CUDA events."""

    def call(fn: Callable[..., Any], d: dict[str, Any]) -> Any:
        return fn(d) if d else fn()

    for fn in fns:
        for i in range(warmup):
            call(fn, sets[i % len(sets)])
    torch.cuda.synchronize()
    events: list[list[tuple[torch.cuda.Event, torch.cuda.Event]]] = [[] for _ in fns]
    for r in range(repeats):
        for fn, pairs in zip(fns, events, strict=True):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call(fn, sets[r % len(sets)])
            end.record()
            pairs.append((start, end))
    torch.cuda.synchronize()
    return [[s.elapsed_time(e) / 1e3 for s, e in pairs] for pairs in events]


def stats(samples: list[float]) -> dict[str, Any]:
    q = statistics.quantiles(samples, n=4)
    return {
        "median_s": statistics.median(samples),
        "p25_s": q[0],
        "p75_s": q[2],
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": samples,
    }


def measure(case: Case, repeats: int, l2_bytes: int) -> dict[str, Any]:
    # enough input sets that one call never finds the previous call's data in L2
    count = max(2, min(16, math.ceil(3 * l2_bytes / max(case.min_bytes, 1))))
    sets = [case.make() for _ in range(count)]
    ours, ref = case.ours(sets[0]), case.torch(sets[0])
    err = float((ours.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))
    t_ours, t_torch = time_calls([case.ours, case.torch], sets, repeats)
    m = statistics.median(t_ours)
    return {
        "op": case.op,
        "layer": case.layer,
        "size": case.size,
        "dtype": case.dtype,
        "shape": list(case.shape),
        "input_sets": count,
        "min_bytes": case.min_bytes,
        "flops": case.flops,
        "ours": stats(t_ours),
        "torch": stats(t_torch),
        "speedup_vs_torch": statistics.median(t_torch) / m,
        "achieved_gbps": case.min_bytes / m / 1e9,
        "achieved_tflops": case.flops / m / 1e12,
        "rel_diff_vs_torch": err,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--require-gpu", action="store_true", help="exit 1 without a usable GPU")
    parser.add_argument("--sizes", default="1080p,4k")
    parser.add_argument("--dtypes", default="f32,f16,bf16")
    parser.add_argument("--ops", default="gram,in,cin,adain")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    if not torch.cuda.is_available():
        print("bm_ops: no CUDA GPU on this machine; nothing measured")
        return 1 if args.require_gpu else 0
    if not _cuda.kernels_available(torch.zeros(1, device="cuda")):
        print("bm_ops: the CUDA kernels cannot run here (CuPy missing or build failed; see log)")
        return 1 if args.require_gpu else 0

    props = torch.cuda.get_device_properties(0)
    l2_bytes = int(getattr(props, "L2_cache_size", 50 * 2**20))
    ceilings = {
        "copy_gbps": copy_bandwidth(20) / 1e9,
        "matmul_f32_tflops": matmul_rate(torch.float32, 10) / 1e12,
        "matmul_bf16_tflops": matmul_rate(torch.bfloat16, 10) / 1e12,
    }
    results = []
    for case in cases(args.sizes.split(","), args.dtypes.split(","), args.ops.split(",")):
        r = measure(case, args.repeats, l2_bytes)
        r["fraction_of_copy_bw"] = r["achieved_gbps"] / ceilings["copy_gbps"]
        r["fraction_of_matmul_f32"] = r["achieved_tflops"] / ceilings["matmul_f32_tflops"]
        results.append(r)
        print(
            f"{r['op']:8s} {r['layer']:14s} {r['size']:5s} {r['dtype']:4s} "
            f"{'x'.join(map(str, r['shape'])):18s} ours {r['ours']['median_s'] * 1e3:8.3f} ms "
            f"(IQR {r['ours']['p25_s'] * 1e3:.3f}-{r['ours']['p75_s'] * 1e3:.3f})  "
            f"torch {r['torch']['median_s'] * 1e3:8.3f} ms  x{r['speedup_vs_torch']:5.2f}  "
            f"{r['achieved_gbps']:7.1f} GB/s ({r['fraction_of_copy_bw']:.0%} of copy)  "
            f"{r['achieved_tflops']:6.2f} TFLOP/s  diff {r['rel_diff_vs_torch']:.1e}",
            flush=True,
        )

    commit, dirty = git_commit()
    now = dt.datetime.now(dt.UTC)
    result = {
        "benchmark": "bm_ops",
        "what": "our CUDA kernels against torch at VGG-19 style-layer and CIN-network shapes",
        "commit": commit,
        "dirty": dirty,
        "date": now.isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(0),
        "capability": list(torch.cuda.get_device_capability(0)),
        "sm_count": props.multi_processor_count,
        "l2_bytes": l2_bytes,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cupy": _cupy_version(),
        },
        "repeats": args.repeats,
        "ceilings": ceilings,
        "cases": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bm_ops-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['device']}: copy {ceilings['copy_gbps']:.0f} GB/s, matmul f32 "
        f"{ceilings['matmul_f32_tflops']:.1f} / bf16 {ceilings['matmul_bf16_tflops']:.1f} TFLOP/s; "
        f"wrote {path}"
    )
    return 0


def _cupy_version() -> str:
    import cupy

    return str(cupy.__version__)


if __name__ == "__main__":
    sys.exit(main())
