"""Freed memory kept for the next frame: glibc's ``malloc`` told to serve large blocks from its
heap and to keep what is freed there, so a frame reuses the pages of the frame before it.

Every frame allocates the same few hundred megabytes: a 32-channel activation of the network is
265 MB at 1080p, a frame's pre/post and consolidation buffers 25-33 MB each. By default glibc
maps every block over its threshold (at most 32 MB) fresh from the kernel and unmaps it when it
is freed, so every frame faults in, and the kernel zeroes, each of those pages again. onnxruntime
avoids that with its own arena. With ``mmap`` off for ``malloc`` (``M_MMAP_MAX`` 0) and the
heap's free top kept up to 2 GB (``M_TRIM_THRESHOLD``), freed blocks stay in the heap and the
next frame reuses them: a 30-frame 1080p farm render with a built-in style went from 1.02 to
0.88 s a frame, and its peak RSS from 1673 to 1413 MB, the heap holding one frame's blocks
where fresh maps had overlapped (benchmarks/RESULTS.md, "Freed memory kept").
The bits are the same (tests/test_freed_memory.py).

It changes the whole process's allocator, and the memory a process once held stays held until
it ends, so it is on only in processes neuralstyle owns: the ``neuralstyle`` and
``python -m neuralstyle.farm`` commands (:func:`neuralstyle.command.run_command`) and the render
processes that farm tasks and Dask workers start (:mod:`neuralstyle.farm.task_process`). Inside a
host, or a Python program that calls the API, it is on only where asked for, by
``NEURALSTYLE_KEEP_MEMORY=1`` (read at the engine's first render,
:func:`neuralstyle.engine.determinism.ensure`); ``NEURALSTYLE_KEEP_MEMORY=0`` keeps it off in
the commands too. Other C libraries than glibc are left alone.
"""

from __future__ import annotations

import ctypes
import os
import threading

from neuralstyle.errors import InputError

__all__ = ["ENV", "apply", "keep_freed_memory", "kept", "requested"]

ENV = "NEURALSTYLE_KEEP_MEMORY"

# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: The heap's free top is given back to the system only past this (mallopt takes an int: 2 GB).
_TRIM_PAST = 2**31 - 1

_lock = threading.Lock()
_state = {"kept": False}


def requested(default: bool) -> bool:
    """Whether ``NEURALSTYLE_KEEP_MEMORY`` asks for it, ``default`` where it is unset.

    Raises:
        InputError: a value other than 0 or 1.
    """
    text = os.environ.get(ENV, "").strip()
    if not text:
        return default
    if text not in ("0", "1"):
        raise InputError(f"{ENV} must be 0 or 1, got {text!r}")
    return text == "1"


def apply(default: bool) -> bool:
    """Keep freed memory where ``NEURALSTYLE_KEEP_MEMORY`` asks for it, ``default`` where it is
    unset (True in processes neuralstyle owns); return whether it is in effect.

    Raises:
        InputError: a value other than 0 or 1.
    """
    return keep_freed_memory() if requested(default) else kept()


def keep_freed_memory() -> bool:
    """Set glibc's ``malloc`` to keep freed memory (module docstring), once per process; return
    whether it is in effect (False under another C library)."""
    with _lock:
        if not _state["kept"]:
            _state["kept"] = _mallopt(_M_MMAP_MAX, 0) and _mallopt(_M_TRIM_THRESHOLD, _TRIM_PAST)
        return _state["kept"]


def kept() -> bool:
    """Whether :func:`keep_freed_memory` is in effect in this process."""
    return _state["kept"]


def _mallopt(param: int, value: int) -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(param, value))
