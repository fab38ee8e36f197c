"""Compile ``cuda/`` modules for the CPU with ``emulator.h`` and run :class:`KernelLaunch` lists.

:func:`run` has the signature of :func:`neuralstyle.ops._cuda.run`: tests put it in its place,
and the ops' own CUDA code (plans, allocations, autograd Functions, the kernels' source) then
runs on CPU tensors, whose ``data_ptr`` the kernels read and write. Only the launch mechanism
(CuPy, NVRTC, streams) is not the real one.

Every CUDA thread of a block is an OS thread (``ns_emu_launch`` in ``emulator.h``), so the
barriers there are real barriers among concurrent threads. Blocks run one after the other: small
shapes only.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from neuralstyle.ops import _cuda

__all__ = ["available", "library", "run"]

HEADER = Path(__file__).with_name("emulator.h")
#: -O2: the sweep runs a few million emulated threads; -Werror: the source must be warning-free
#: C++ as it is CUDA (the pragmas are CUDA's own).
COMPILE = (
    "g++",
    "-std=c++20",
    "-O2",
    "-shared",
    "-fPIC",
    "-Wall",
    "-Werror",
    "-Wno-unknown-pragmas",
)
_INTS, _FLOATS = 16, 8  # the arguments ns_emu::Entry in emulator.h passes
_lock = threading.Lock()


def available() -> bool:
    """x86-64 Linux (the calling convention ``emulator.h`` relies on) and g++ (C++20 with
    ``_Float16``: g++ >= 12) on the PATH."""
    return sys.platform == "linux" and platform.machine() == "x86_64" and bool(shutil.which("g++"))


@functools.cache
def library(module: str) -> ctypes.CDLL:
    """Module ``module`` of :data:`neuralstyle.ops._cuda.SOURCES` built for the CPU (cached on
    disk by the hash of its source and the emulator header)."""
    source = _cuda.kernel_source(module)
    key = hashlib.sha256((source + HEADER.read_text()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "neuralstyle-cudaemu"
    folder.mkdir(exist_ok=True)
    target = folder / f"{module}-{key}.so"
    if not target.exists():
        src = folder / f"{module}-{key}.cu"
        src.write_text(source)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        command = [*COMPILE, "-include", str(HEADER), "-x", "c++", str(src), "-o", str(partial)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"g++ could not build {module} for the emulator:\n{done.stderr}")
        partial.replace(target)  # atomic: a concurrent test process never loads half a file
    return ctypes.CDLL(str(target))


def run(launches: Sequence[_cuda.KernelLaunch], device: torch.device) -> None:
    """The launches in order, on the CPU; ``device`` must be the CPU."""
    if torch.device(device).type != "cpu":
        raise ValueError(f"the emulator runs kernels on CPU tensors, got {device}")
    for launch in launches:
        lib = library("gram" if launch.kernel.startswith("ns_gram_") else "instance_norm")
        ints = [a for a in launch.args if not isinstance(a, np.float32)]
        floats = [a for a in launch.args if isinstance(a, np.float32)]
        if len(ints) > _INTS or len(floats) > _FLOATS:
            raise ValueError(f"{launch.kernel}: more arguments than emulator.h passes")
        int_args = (ctypes.c_uint64 * _INTS)(*(int(a) & (2**64 - 1) for a in ints))
        float_args = (ctypes.c_float * _FLOATS)(*(float(a) for a in floats))
        kernel = ctypes.cast(getattr(lib, launch.kernel), ctypes.c_void_p)
        with _lock:  # one launch at a time: blocks share the module's statics
            lib.ns_emu_launch(
                kernel,
                ctypes.c_uint(launch.grid),
                ctypes.c_uint(launch.threads),
                int_args,
                float_args,
            )
