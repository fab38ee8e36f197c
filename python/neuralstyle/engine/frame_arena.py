"""The engine's frame arena: the large blocks a frame's tensors free are kept for the next frame.

Every frame of a feed-forward network allocates the same few hundred megabytes: a 32-channel
activation is 265 MB at 1080p. glibc maps each block over its threshold (at most 32 MB) fresh from
the kernel and unmaps it when it is freed, so every frame faults in, and the kernel zeroes, those
pages again; onnxruntime avoids that with an arena of its own. So does the engine, for its own
frames only: ``frame_arena.cpp`` wraps torch's CPU allocator, and blocks of 1 MB or more asked for
on a thread inside :func:`frame` come from regions it keeps, best fit with splitting and
coalescing (onnxruntime's scheme), so from the second frame of a size on no frame maps memory
afresh; a request nothing fits (a new resolution) gives back the regions the frame has not
touched. Everything else in the process, the host's own memory included, is allocated as before.
At 1080p a built-in frame through ``neuralstyle.stylize`` went from 0.79 to 0.57 s and an AdaIN
frame from 12.0 to 8.0 s, same bits (benchmarks/RESULTS.md, bm_builtin). A first version kept
one block per exact size: an AdaIN frame, whose encoder asks for many sizes, then peaked at
9.5 GB instead of 2.3 (2.8 GB now).

The arena is C++ built against the torch it runs in, so like the compiled networks it is built
once per installation beside them (:func:`neuralstyle.models.compiled.package_folder`, by
``neuralstyle compile`` at setup, else at the first render; a C++ compiler and a second). Where it
cannot be built or loaded, frames render without it, after one warning. Its kept regions are
given back by :func:`release` (the plugin's purge-caches action) and with the process.

``NEURALSTYLE_KEEP_MEMORY=0`` turns it off (read at the first frame). It replaced a
process-wide setting of glibc's ``malloc`` (no ``mmap``, the heap's top kept), which the commands
used: with the arena beside it a 12-frame 1080p farm render took 0.79-0.83 s a frame, with the
arena alone 0.81-0.82 (1.13-1.17 s against 1.17-1.19 with ``--temporal 2``), so nothing needs to
change a process's allocator any more (docs/farm.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import platform
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from neuralstyle.errors import InputError

__all__ = [
    "ENV",
    "build",
    "frame",
    "installed",
    "kept_bytes",
    "library_path",
    "release",
    "requested",
    "start",
]

ENV = "NEURALSTYLE_KEEP_MEMORY"

_SOURCE = Path(__file__).with_suffix(".cpp")
_FORMAT = "1"  # bump when the build command changes
_log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, ctypes.CDLL | None] = {}  # "library" -> the loaded arena, or None: off


def library_path() -> Path:
    """Where this torch's arena library lives (keyed by torch, the source and the build)."""
    import torch  # not at module level: the farm's modules import this one without torch

    from neuralstyle.models.compiled import package_folder

    h = hashlib.sha256()
    for part in (_FORMAT, torch.__version__, platform.machine(), str(_cxx11_abi())):
        h.update(part.encode() + b"\0")
    h.update(_SOURCE.read_bytes())
    return package_folder() / f"frame_arena-{h.hexdigest()[:16]}.so"


def build(path: Path) -> Path:
    """Compile the arena into ``path`` (atomically; one builder at a time).

    Raises:
        OSError: no compiler, the compiler failed, or the folder is not writable.
    """
    import torch

    from neuralstyle.models.compiled import staged_build

    with staged_build(path, mode=0o755) as staged:
        if staged is None:
            return path
        root = Path(torch.__file__).parent
        # no RTTI: libc10 is built without it, so a class derived from its Allocator must not
        # ask for type information it does not export
        command = [
            os.environ.get("CXX", "g++"), "-O2", "-std=c++17", "-shared", "-fPIC", "-fno-rtti",
            f"-D_GLIBCXX_USE_CXX11_ABI={int(_cxx11_abi())}", f"-I{root / 'include'}",
            str(_SOURCE), "-o", str(staged),
            f"-L{root / 'lib'}", "-lc10", f"-Wl,-rpath,{root / 'lib'}",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise OSError(f"{command[0]} could not build it: {lines[0][:300]}")
    return path


def start() -> bool:
    """Build (where missing), load and install the arena once per process, unless
    ``NEURALSTYLE_KEEP_MEMORY=0``; return whether it is installed. Never raises for an arena it
    cannot build or load: it warns once and frames render without it.

    Raises:
        InputError: a ``NEURALSTYLE_KEEP_MEMORY`` other than 0 or 1.
    """
    with _lock:
        if "library" not in _state:
            _state["library"] = _load() if requested() else None
        return _state["library"] is not None


def requested() -> bool:
    """Whether ``NEURALSTYLE_KEEP_MEMORY`` leaves the arena on (unset or 1).

    Raises:
        InputError: a value other than 0 or 1.
    """
    text = os.environ.get(ENV, "").strip()
    if text not in ("", "0", "1"):
        raise InputError(f"{ENV} must be 0 or 1, got {text!r}")
    return text != "0"


def installed() -> bool:
    """Whether the arena is installed in this process."""
    return _state.get("library") is not None


@contextlib.contextmanager
def frame() -> Iterator[None]:
    """The calling thread renders a frame: its large blocks are kept when freed (nests). The
    first frame of the process starts the arena (:func:`start`).

    Raises:
        InputError: a ``NEURALSTYLE_KEEP_MEMORY`` other than 0 or 1.
    """
    if "library" not in _state:
        start()
    library = _state["library"]
    if library is None:
        yield
        return
    library.ns_arena_enter()
    try:
        yield
    finally:
        library.ns_arena_exit()


def release() -> int:
    """Give back every kept region that holds no tensor; return its bytes."""
    library = _state.get("library")
    return 0 if library is None else int(library.ns_arena_release())


def kept_bytes() -> int:
    """The free bytes the arena holds for the next frames."""
    library = _state.get("library")
    return 0 if library is None else int(library.ns_arena_kept_bytes())


def _load() -> ctypes.CDLL | None:
    path = library_path()
    try:
        if not path.is_file():
            build(path)
        library = ctypes.CDLL(str(path))
        library.ns_arena_release.restype = ctypes.c_size_t
        library.ns_arena_kept_bytes.restype = ctypes.c_size_t
        if library.ns_arena_install() != 1:
            raise OSError("another CPU allocator of higher priority is installed")
    except OSError as exc:
        _log.warning(
            "frames render without the frame arena (slower: each frame maps its memory afresh): "
            "%s: %s",
            path,
            exc,
        )
        return None
    return library


def _cxx11_abi() -> bool:
    import torch

    return bool(torch._C._GLIBCXX_USE_CXX11_ABI)
