"""The one place where ops meet the CUDA kernels of ``cuda/``: availability, compilation, launch.

The kernels are plain CUDA C++ files (``cuda/gram/gram.cu``,
``cuda/instance_norm/instance_norm.cu``) compiled at run time by CuPy's NVRTC (``cupy.RawModule``)
once per device and process, and cached on disk by CuPy. Tensors cross as raw device pointers
(``Tensor.data_ptr()``): no copies, no CuPy arrays. Every launch runs on torch's current stream of
the tensor's device.

Nothing here imports CuPy at module import time. Without CuPy, without a GPU, or when compilation
fails, :func:`kernels_available` answers ``False`` (it never raises) and the ops run their torch
reference. ``NEURALSTYLE_DISABLE_KERNELS=1`` forces the reference everywhere.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuralstyle.testing import poison

__all__ = [
    "COMPILE_OPTIONS",
    "KERNEL_DTYPES",
    "SOURCES",
    "KernelLaunch",
    "ceil_div",
    "cuda_dir",
    "dense_layout",
    "empty",
    "empty_like_dense",
    "f32",
    "i32",
    "i64",
    "kernel_source",
    "kernels_available",
    "pack_width",
    "positions",
    "ptr",
    "restride",
    "run",
]

_log = logging.getLogger(__name__)

#: torch dtype -> the ``<dtype>`` part of kernel names.
KERNEL_DTYPES: dict[torch.dtype, str] = {
    torch.float32: "f32",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
}
#: module name -> its source, relative to the ``cuda/`` directory.
SOURCES: dict[str, str] = {
    "gram": "gram/gram.cu",
    "instance_norm": "instance_norm/instance_norm.cu",
}
#: NVRTC options (CuPy adds the architecture of the device and ``-ftz=true``).
COMPILE_OPTIONS: tuple[str, ...] = ("-std=c++17",)

_DISABLE_ENV = "NEURALSTYLE_DISABLE_KERNELS"
_CUDA_DIR_ENV = "NEURALSTYLE_CUDA_DIR"
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
_PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\s*$")


# ---- availability -------------------------------------------------------------------------------


def kernels_available(tensor: object) -> bool:
    """True when our CUDA kernels can run on ``tensor``; never raises.

    That is: a non-empty float32/float16/bfloat16 CUDA tensor, CuPy importable, the device usable
    by CuPy, and both kernel modules compiled for it (done once per device and process; CuPy keeps
    the binaries in its disk cache, so later processes load them in milliseconds).
    """
    if not isinstance(tensor, Tensor) or not tensor.is_cuda:
        return False
    if tensor.dtype not in KERNEL_DTYPES or tensor.numel() == 0:
        return False
    if os.environ.get(_DISABLE_ENV, "") not in ("", "0"):
        return False
    return _device_ready(_device_index(tensor.device))


def _device_index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


@functools.cache
def _device_ready(index: int) -> bool:
    try:
        for name in SOURCES:
            _module(index, name)
    except Exception as exc:  # any failure (no CuPy, no driver, NVRTC error) means "not available"
        _log.warning(
            "neuralstyle CUDA kernels unavailable on cuda:%d (%s: %s); using the torch reference",
            index,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def _cupy() -> Any:
    import cupy

    return cupy


# ---- sources and modules ------------------------------------------------------------------------


def cuda_dir() -> Path:
    """The directory holding the kernel sources.

    Looked up in order: ``$NEURALSTYLE_CUDA_DIR``; ``neuralstyle/_cuda`` inside the installed
    package (where a wheel build copies ``cuda/``); ``cuda/`` at the root of a source checkout or
    editable install (``python/neuralstyle/ops/_cuda.py`` -> ``cuda/``).
    """
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "_cuda", here.parents[3] / "cuda"]
    env = os.environ.get(_CUDA_DIR_ENV)
    if env:
        candidates.insert(0, Path(env))
    for candidate in candidates:
        if all((candidate / source).is_file() for source in SOURCES.values()):
            return candidate
    raise FileNotFoundError(
        "neuralstyle: CUDA kernel sources not found; looked in "
        + ", ".join(str(c) for c in candidates)
    )


def kernel_source(name: str, root: Path | None = None) -> str:
    """The source of module ``name`` with its quoted ``#include``s inlined, as NVRTC compiles it.

    Inlining (instead of ``-I``) puts every header into CuPy's cache key, so an edited header
    recompiles; ``#line`` directives keep compiler messages pointing at the real files.
    """
    base = root if root is not None else cuda_dir()
    seen: set[str] = set()

    def expand(relative: str) -> list[str]:
        if relative in seen:  # every header is #pragma once
            return []
        seen.add(relative)
        lines = [f'#line 1 "{relative}"']
        text = (base / relative).read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            include = _INCLUDE.match(line)
            if include:
                lines += expand(include.group(1))
                lines.append(f'#line {number + 1} "{relative}"')
            else:
                lines.append("" if _PRAGMA_ONCE.match(line) else line)
        return lines

    return "\n".join(expand(SOURCES[name])) + "\n"


_lock = threading.Lock()
_modules: dict[tuple[int, str], Any] = {}
_functions: dict[tuple[int, str], Any] = {}
_streams: dict[tuple[int, int], Any] = {}


def _module(index: int, name: str) -> Any:
    with _lock:
        module = _modules.get((index, name))
        if module is None:
            cupy = _cupy()
            with cupy.cuda.Device(index):
                module = cupy.RawModule(code=kernel_source(name), options=COMPILE_OPTIONS)
                module.compile()
            _modules[(index, name)] = module
        return module


def _function(index: int, kernel: str) -> Any:
    key = (index, kernel)
    function = _functions.get(key)
    if function is None:
        module = _module(index, "gram" if kernel.startswith("ns_gram_") else "instance_norm")
        with _cupy().cuda.Device(index):
            function = module.get_function(kernel)
        _functions[key] = function
    return function


def _stream(index: int) -> Any:
    """CuPy's view of torch's current stream on device ``index``."""
    current = torch.cuda.current_stream(index)
    key = (index, current.cuda_stream)
    stream = _streams.get(key)
    if stream is None:
        cupy = _cupy()
        if hasattr(cupy.cuda.Stream, "from_external"):  # CuPy >= 14
            stream = cupy.cuda.Stream.from_external(current)
        else:
            stream = cupy.cuda.ExternalStream(current.cuda_stream, index)
        _streams[key] = stream
    return stream


# ---- launches -----------------------------------------------------------------------------------


def ptr(t: Tensor | None) -> np.uint64:
    """A kernel pointer argument (null for ``None``)."""
    return np.uint64(0 if t is None else t.data_ptr())


def i32(v: int) -> np.int32:
    if not -(2**31) <= v < 2**31:
        raise OverflowError(f"kernel argument {v} does not fit in int32")
    return np.int32(v)


def i64(v: int) -> np.int64:
    return np.int64(v)


def f32(v: float) -> np.float32:
    return np.float32(v)


_ARG_TYPES = (np.uint64, np.int64, np.int32, np.float32)


@dataclass(frozen=True)
class KernelLaunch:
    """One launch: kernel name, 1-D grid of ``threads``-thread blocks, typed arguments."""

    kernel: str
    grid: int
    args: tuple[Any, ...]
    threads: int = 256

    def __post_init__(self) -> None:
        if not 0 < self.grid < 2**31:
            raise ValueError(f"{self.kernel}: grid of {self.grid} blocks is out of range")
        for arg in self.args:
            if not isinstance(arg, _ARG_TYPES):
                raise TypeError(f"{self.kernel}: untyped kernel argument {arg!r}")


def run(launches: Sequence[KernelLaunch], device: torch.device) -> None:
    """Launches in order on torch's current stream of ``device``."""
    index = _device_index(device)
    cupy = _cupy()
    with cupy.cuda.Device(index), _stream(index):
        for launch in launches:
            function = _function(index, launch.kernel)
            function((launch.grid,), (launch.threads,), launch.args)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ---- tensors ------------------------------------------------------------------------------------


def dense_layout(x: Tensor) -> tuple[Tensor, str]:
    """``x`` of shape ``(B, C, *spatial)`` as a dense tensor and its kernel layout.

    ``"nchw"`` when contiguous, ``"nhwc"`` when channels-last (channels innermost, any number of
    spatial dims), otherwise a contiguous copy and ``"nchw"``.
    """
    if x.is_contiguous():
        return x, "nchw"
    if x.movedim(1, -1).is_contiguous():
        return x, "nhwc"
    return x.contiguous(), "nchw"


def positions(x: Tensor) -> int:
    return math.prod(x.shape[2:])


def restride(t: Tensor, like: Tensor) -> Tensor:
    """``t`` with exactly the strides of ``like`` (a copy only when they differ)."""
    if t.stride() == like.stride() and t.dtype == like.dtype:
        return t
    return empty_like_dense(like).copy_(t)


def pack_width(layout: str, x: Tensor, tensors: Sequence[Tensor]) -> int:
    """Elements per 16-byte pack when ``tensors`` allow packed access, else 1 (see the headers)."""
    vec = 16 // x.element_size()
    unit = positions(x) if layout == "nchw" else x.shape[1]
    if unit % vec or any(t.data_ptr() % 16 for t in tensors):
        return 1
    return vec


def _maybe_poison(t: Tensor) -> Tensor:
    if poison.active():  # the test hook: NaN shows any element a kernel forgets to write
        t.fill_(float("nan"))
    return t


def empty(shape: Sequence[int], device: torch.device, dtype: torch.dtype = torch.float32) -> Tensor:
    """An output or workspace for a kernel."""
    return _maybe_poison(torch.empty(tuple(shape), dtype=dtype, device=device))


def empty_like_dense(x: Tensor) -> Tensor:
    """An output with the shape, dtype and exact strides of the dense tensor ``x``."""
    return _maybe_poison(torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device=x.device))
