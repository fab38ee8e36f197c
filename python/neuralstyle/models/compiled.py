"""Networks compiled ahead of time for this machine (AOTInductor); the eager module is the fallback.

Eager PyTorch runs a feed-forward network one op at a time: every instance norm, ReLU, reflect pad
and upsample reads and writes a whole feature map. Inductor fuses them into a few loops around
oneDNN's convolutions; on the CPU that makes the built-in network 1.8x faster at 1080p
(benchmarks/RESULTS.md, bm_builtin). ``torch.compile`` would recompile in every process (15-45 s
a frame size), so the network is exported once with dynamic height and width and compiled into a
package (a shared library and its weights) that later processes load in milliseconds through
torch's C++ loader, without importing ``torch._inductor`` (0.9 s).

A package is machine code built against one torch installation, so it lives beside it, not in a
user's cache: ``<torch's site-packages>/neuralstyle-compiled/<name>-<key>.pt2`` (a folder name
Python cannot import; ``$NEURALSTYLE_COMPILED`` names another folder). Every process that runs
this torch finds it: the CLI, farm processes whatever their ``HOME`` (often read-only or
rewritten), and the plugin, whose interpreter has another ``sys.prefix``. The key covers
torch's version, the CPU (architecture and the vector instruction sets the generated code may
use), the network's source files and its weights, so an installation shared by several machine
types holds one package per type, and an upgrade compiles afresh. ``neuralstyle compile`` builds
the packages (``scripts/setup.sh`` runs it). ``$NEURALSTYLE_COMPILE`` picks the policy:

- ``auto`` (default): load the package; when it is missing, build it (once per machine, under a
  file lock, so concurrent farm processes wait for one build), then load it. Where it cannot be
  built (no C++ compiler, a read-only folder) the eager module renders, with one warning.
- ``off``: always the eager module.

Networks that share an architecture and differ in weights (the styles users train) share one
package (:attr:`Compilable.template`): it is built from a template with fixed weights, and each
network loads its own weights into it (AOTInductor's ``load_constants``, checked against the
eager network on a small picture), so a new style renders compiled from its first frame instead
of after a 20-second compile, and ``neuralstyle compile`` builds that package at setup.

Compiled and eager frames differ by float reassociation only (1.2e-5 at most in a 1080p frame;
tests/test_compiled.py holds them within 1e-4);
compiled frames are bit-identical across processes and thread counts. The strict profile's
"same build, same hardware class" therefore includes the package: ``neuralstyle compile`` with
each installation (or once per machine type, for one shared by the farm) makes every node render
the same bits, and a node that renders uncompiled says so in a warning.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import logging
import os
import platform
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from neuralstyle.errors import InputError
from neuralstyle.models.weights_cache import tensors_digest

__all__ = [
    "ENV_COMPILE",
    "ENV_FOLDER",
    "POLICIES",
    "WEIGHTS_TOLERANCE",
    "Compilable",
    "CompiledNetwork",
    "CompiledOrEager",
    "ImageNetwork",
    "build",
    "first_line",
    "image_network",
    "load_compiled",
    "package_folder",
    "package_path",
    "policy",
    "staged_build",
]

ENV_COMPILE = "NEURALSTYLE_COMPILE"
#: The most a network's weights loaded into a shared package (:attr:`Compilable.template`) may
#: paint away from its eager module (0..1 pixels); measured 5e-6.
WEIGHTS_TOLERANCE = 1e-4
ENV_FOLDER = "NEURALSTYLE_COMPILED"
POLICIES = ("auto", "off")
#: Bumped when the export or packaging conventions change, so older packages are not loaded.
_FORMAT = "2"
#: CPU features the generated kernels may be specialised for (Linux ``/proc/cpuinfo`` names).
_ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")  # fmt: skip

_log = logging.getLogger(__name__)
_warned: set[str] = set()


@dataclass(frozen=True)
class Compilable:
    """What to compile: a module in eval mode, example inputs and which of their sizes vary.

    Args:
        name: the package's file stem, e.g. ``"builtin"``.
        module: the network, weights loaded, on the CPU.
        example: an image and a condition to trace with; all their sizes but the image's height
            and width are fixed in the package.
        multiple: the image's height and width are any multiples of it.
        code: the names of the modules whose source defines the network's graph (part of the
            key), e.g. ``"neuralstyle.models.cin_net"``.
        template: None, or a network of ``module``'s architecture with fixed weights: the
            package is built from it and keyed by it, and a loaded package takes ``module``'s
            weights (AOTInductor's ``load_constants``), so one package serves every network of
            the architecture and new weights (a trained style) need no compiler.
    """

    name: str
    module: nn.Module
    example: tuple[Tensor, ...]
    multiple: int
    code: Sequence[str]
    template: nn.Module | None = None

    @property
    def graph(self) -> nn.Module:
        """The module the package is built from and keyed by."""
        return self.module if self.template is None else self.template

    def dynamic_shapes(self) -> tuple[dict[int, Any], None]:
        """:func:`torch.export.export`'s spec of the sizes that vary (torch.export is imported
        here, by a build only: it costs a quarter of a second)."""
        side, m = torch.export.Dim, self.multiple
        return {2: m * side("rows", min=2, max=32768 // m),
                3: m * side("columns", min=2, max=32768 // m)}, None  # fmt: skip


class ImageNetwork(Protocol):
    """A feed-forward network of an image and a condition (a style mix, a style vector) that
    pads the image to a multiple of its size step itself (``prepare``) and crops the result."""

    def prepare(self, image: Tensor, condition: Tensor) -> Tensor: ...

    def __call__(self, image: Tensor, condition: Tensor) -> Tensor: ...


def image_network(
    name: str,
    net: ImageNetwork,
    condition: Tensor,
    multiple: int,
    code: Sequence[str],
    *,
    template: nn.Module | None = None,
) -> Compilable:
    """``net`` compiled for one image (batch 1) whose height and width are any multiples of
    ``multiple`` (``prepare`` pads to them), with a condition shaped like ``condition``
    (``template``: :class:`Compilable`)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(net).__name__}")
    example = (torch.zeros(1, 3, 16 * multiple, 24 * multiple), torch.zeros_like(condition))
    return Compilable(name, net, example, multiple, code, template)


class CompiledOrEager:
    """An :class:`ImageNetwork` that runs compiled where the package loads and the call fits it
    (one image, the condition's shape), and as the eager module everywhere else.

    Call it inside ``torch.inference_mode()``; the eager module is :attr:`net`.
    """

    def __init__(self, compilable: Compilable, device: torch.device) -> None:
        self.net: Any = compilable.module
        self._condition = compilable.example[1].shape
        self._compiled = load_compiled(compilable) if device.type == "cpu" else None
        if self._compiled is not None and compilable.template is not None:
            self._check_weights(compilable)

    @property
    def compiled(self) -> bool:
        """Whether calls that fit the package run compiled."""
        return self._compiled is not None

    def __call__(self, image: Tensor, condition: Tensor) -> Tensor:
        if self._compiled is None or image.shape[0] != 1 or condition.shape != self._condition:
            out: Tensor = self.net(image, condition)
            return out
        h, w = image.shape[-2:]
        padded = self.net.prepare(image, condition).contiguous()
        return self._compiled(padded, condition.contiguous())[..., :h, :w]

    def _check_weights(self, compilable: Compilable) -> None:
        """The package with this network's weights loaded must paint as the eager network does
        (a package whose graph had folded a weight in would not): on a small picture, within
        :data:`WEIGHTS_TOLERANCE`; else the eager network renders, with a warning."""
        m = compilable.multiple
        # noise, as `neuralstyle compile` checks: a smooth ramp leaves some feature maps nearly
        # flat, and instance norm then magnifies float reassociation (1.8e-4 measured)
        probe = torch.rand(1, 3, 8 * m, 12 * m, generator=torch.Generator().manual_seed(0))
        condition = torch.ones_like(compilable.example[1])
        with torch.inference_mode():
            difference = float((self(probe, condition) - self.net(probe, condition)).abs().max())
        if not difference <= WEIGHTS_TOLERANCE:
            _log.warning(
                "the %s network runs uncompiled (slower): its weights in the shared package "
                "paint %.1e away from the eager network",
                compilable.name,
                difference,
            )
            self._compiled = None


class CompiledNetwork:
    """A loaded package: call it with the inputs in the order of :attr:`Compilable.example`."""

    def __init__(self, path: Path, weights: dict[str, Tensor] | None = None) -> None:
        self.path = path
        # torch's loader unpacks the package into $TMPDIR/aotinductor_* (2.8 MB) and removes it
        # when destroyed: at a Python process's exit, and in a host when the plugin unloads
        # (it purges the engine's caches; its Python is never finalised).
        self._loader = torch._C._aoti.AOTIModelPackageLoader(str(path), "model", False, 1, -1)
        self._lock = threading.Lock()  # one runner: host render threads take turns
        if weights is not None:
            # every constant replaced (a missing name is an error); the loader copies them
            # (measured: changing the module's weights afterwards leaves the package's alone)
            self._loader.load_constants(weights, False, True)

    def __call__(self, *inputs: Tensor) -> Tensor:
        try:
            with self._lock:
                outputs = self._loader.boxed_run(list(inputs))
        except RuntimeError as exc:
            if "memory" in str(exc).lower():  # the C++ allocator's failure, as torch says it
                raise torch.OutOfMemoryError(str(exc)) from exc
            raise
        out: Tensor = outputs[0]
        return out


def policy() -> str:
    """``$NEURALSTYLE_COMPILE``: ``auto`` (default) or ``off``.

    Raises:
        InputError: another value.
    """
    value = os.environ.get(ENV_COMPILE, "auto").strip().lower() or "auto"
    if value not in POLICIES:
        raise InputError(f"{ENV_COMPILE} must be one of {', '.join(POLICIES)}, got {value!r}")
    return value


def package_path(compilable: Compilable) -> Path:
    """Where ``compilable``'s package for this machine, torch, code and weights lives."""
    h = hashlib.sha256()
    for part in (_FORMAT, torch.__version__, platform.machine(), _cpu_features()):
        h.update(part.encode() + b"\0")
    for name in compilable.code:  # by name: neuralstyle.ops exports functions named as modules
        h.update(Path(importlib.import_module(name).__file__ or "").read_bytes())
    h.update(tensors_digest(dict(compilable.graph.state_dict())).encode())
    for t in compilable.example:
        h.update(f"{t.dtype} {tuple(t.shape)}".encode())  # the sizes not marked dynamic stay fixed
    h.update(f"multiple {compilable.multiple}".encode())
    return package_folder() / f"{compilable.name}-{h.hexdigest()[:16]}.pt2"


def package_folder() -> Path:
    """``$NEURALSTYLE_COMPILED``, else ``neuralstyle-compiled`` in torch's site-packages."""
    if explicit := os.environ.get(ENV_FOLDER):
        return Path(explicit).expanduser()
    return Path(torch.__file__).resolve().parents[1] / "neuralstyle-compiled"


def load_compiled(compilable: Compilable) -> CompiledNetwork | None:
    """The compiled ``compilable`` under the policy, or None where the eager module renders.

    Never raises for a package it cannot build or load: it warns once per network and returns
    None (a frame must render either way).
    """
    if policy() == "off":
        return None
    path = package_path(compilable)
    weights = None
    if compilable.template is not None:
        weights = {k: v.contiguous() for k, v in compilable.module.state_dict().items()}
    try:
        if not path.is_file():
            build(compilable, path)
        return CompiledNetwork(path, weights)
    except Exception as exc:  # any compiler or loader failure means "eager"
        if compilable.name not in _warned:
            _warned.add(compilable.name)
            _log.warning(
                "the %s network runs uncompiled (slower): %s: %s; `neuralstyle compile` says more "
                "and rebuilds a broken package",
                compilable.name,
                path,
                first_line(exc),
            )
        return None


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (a compiler's can run to pages), or its type."""
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def build(compilable: Compilable, path: Path) -> Path:
    """Export and compile ``compilable`` into ``path`` (atomically; one builder at a time).

    Raises:
        OSError: the package folder is not writable.
        Exception: what torch.export or Inductor raise (no compiler, an unsupported op).
    """
    with staged_build(path, mode=0o644) as staged:
        if staged is None:
            return path
        started = time.perf_counter()
        _log.warning(
            "compiling the %s network for this CPU (once per machine; about a minute)",
            compilable.name,
        )
        # Importing Inductor costs 0.9 s, so only building does it; loading needs torch._C only.
        from torch._inductor import aoti_compile_and_package

        with torch.inference_mode(False), torch.no_grad():
            program = torch.export.export(
                compilable.graph, compilable.example, dynamic_shapes=compilable.dynamic_shapes()
            )
        with _quiet_compiler():
            # the same package whichever process builds it (a render under the strict
            # profile, or `neuralstyle compile`): Inductor's settings fixed here
            aoti_compile_and_package(
                program, package_path=str(staged), inductor_configs={"deterministic": True}
            )
        _log.warning(
            "compiled the %s network in %.0f s: %s",
            compilable.name,
            time.perf_counter() - started,
            path,
        )
    return path


def _cpu_features() -> str:
    capability = torch.backends.cpu.get_cpu_capability()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{capability} {platform.processor()}"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith(("flags", "Features"))), [])  # fmt: skip
    return " ".join([capability, *(f for f in _ISA_FLAGS if f in flags)])


@contextlib.contextmanager
def staged_build(path: Path, *, mode: int) -> Iterator[Path | None]:
    """Build ``path`` once for every process: under its lock file, yields where to write it, or
    None when another process built it while this one waited; what was written there becomes
    ``path`` atomically, with ``mode`` (a shared installation's users must read it).

    Raises:
        OSError: the folder is not writable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if path.is_file():
                yield None
                return
            with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}.") as tmp:
                staged = Path(tmp) / path.name
                yield staged
                os.chmod(staged, mode)
                os.replace(staged, path)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_compiler() -> Iterator[None]:
    # Inductor's C++ build warns that there is no CUDA runtime on a CPU-only machine; true and
    # irrelevant to a CPU package, and the host's log is the artist's.
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
