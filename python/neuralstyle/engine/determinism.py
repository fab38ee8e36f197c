"""Numerics profiles (DESIGN decision 7), applied when the engine first renders, never at import.

- ``strict`` (default): deterministic algorithms, no cuDNN autotuning, no TF32, a fixed number of
  CPU threads. The same build on the same hardware class gives bit-identical frames, whichever
  front end (plugin, API, CLI) rendered them and however the frames were chunked.
- ``fast``: TF32 and cuDNN autotuning allowed; results agree with ``strict`` within a tolerance.

``NEURALSTYLE_PROFILE`` picks the profile, ``NEURALSTYLE_THREADS`` the CPU thread count (default:
the CPUs this process may run on, so a host's own thread settings do not change the result).
The settings are process-wide torch flags; they are applied once and reported by :func:`active`.
Transparent huge pages for torch's CPU allocator (``THP_MEM_ALLOC_ENABLE=1``, torch's own
variable, read at its first block of 2 MB) are left to the user: they made a network in a tight
loop 10-17 % faster here but a farm render 17 % slower, the kernel compacting memory to find 2 MB
pages (benchmarks/RESULTS.md, bm_builtin). The bits are the same either way
(tests/test_compiled.py).
"""

from __future__ import annotations

import os
import threading

from neuralstyle.errors import InputError

__all__ = ["PROFILES", "active", "ensure"]

PROFILES = ("strict", "fast")
ENV_PROFILE = "NEURALSTYLE_PROFILE"
ENV_THREADS = "NEURALSTYLE_THREADS"
#: torch's own switch for huge pages in its CPU allocator (see above; not set by the engine).
THP_ENV = "THP_MEM_ALLOC_ENABLE"

_lock = threading.Lock()
_applied: dict[str, str] = {}  # "profile" -> name, once applied


def _threads() -> int:
    text = os.environ.get(ENV_THREADS, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise InputError(f"{ENV_THREADS} must be a positive integer, got {text!r}")
        return int(text)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def ensure() -> str:
    """Apply the profile from ``NEURALSTYLE_PROFILE`` (first call only) and return its name.

    Raises:
        InputError: an unknown profile name or a bad ``NEURALSTYLE_THREADS``.
    """
    with _lock:
        if "profile" in _applied:
            return _applied["profile"]
        profile = os.environ.get(ENV_PROFILE, "strict").strip() or "strict"
        if profile not in PROFILES:
            raise InputError(f"{ENV_PROFILE} must be one of {', '.join(PROFILES)}, got {profile!r}")
        _apply(profile, _threads())
        _applied["profile"] = profile
        return profile


def active() -> str | None:
    """The profile in effect, or None before the first render."""
    return _applied.get("profile")


def _apply(profile: str, threads: int) -> None:
    # cuBLAS reads this when CUDA initialises; older torch refuses deterministic mode without it.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    strict = profile == "strict"
    # torch.use_deterministic_algorithms also sets Inductor's flag of that name, and importing
    # Inductor for it cost 0.86 s of the node's first frame (benchmarks/RESULTS.md,
    # bm_first_frame). Nothing here compiles at render time (models/compiled.py builds its
    # packages with that flag set itself), so only the switch the kernels read is thrown.
    torch._C._set_deterministic_algorithms(strict, warn_only=False)
    # Deterministic mode also fills every new tensor with NaN so that a kernel reading memory it
    # never wrote gives the same (poisoned) answer each time: 17.6 % of a 1080p built-in frame on
    # the CPU (torch profiler, issue 13). No path here reads unwritten memory: the frames are
    # bit-identical without the fill, across processes, threads and chunks (tests/
    # test_determinism.py, tests/test_farm_render.py), so the debugging aid is off.
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
    torch.backends.cudnn.benchmark = not strict
    torch.backends.cudnn.deterministic = strict
    # The legacy flags only: mixing them with the fp32_precision API makes torch raise on reads.
    torch.backends.cuda.matmul.allow_tf32 = not strict
    torch.backends.cudnn.allow_tf32 = not strict
    if strict:
        # Measured with the built-in network (benchmarks/RESULTS.md, "Farm"): in fresh processes
        # 1, 2 and 4 threads give identical bits, with oneDNN on or off, and oneDNN off is 2.4-4x
        # slower, so oneDNN stays on (explicitly: a host may have turned it off). Changing the
        # thread count after a process has rendered does change later bits, so it is set here,
        # once, before the first render.
        torch.backends.mkldnn.enabled = True  # type: ignore[assignment]  # a torch ContextProp
        torch.set_num_threads(threads)
