"""The process environment a render needs, set before torch (and with it CUDA) first loads.

CUDA reads ``CUDA_VISIBLE_DEVICES`` once, when it initialises; OpenMP and MKL read their thread
variables when torch loads. So a render process calls :func:`prepare` first, before importing
anything that imports torch; :func:`prepare` refuses to change the GPU choice of a process where
torch is already loaded.

GPU choice, most specific first:

1. ``--gpu N``: the N-th GPU this process may see (the N-th entry of ``CUDA_VISIBLE_DEVICES`` when
   that is a list, else physical GPU N), like Nuke's ``--gpu``.
2. OpenCue's ``CUE_GPU_CORES`` (RQD's GPU list for this frame's slot; RQD sets no
   ``CUDA_VISIBLE_DEVICES``). The ids are nvidia-smi indices, so ``CUDA_DEVICE_ORDER`` is set to
   ``PCI_BUS_ID`` (nvidia-smi's order) unless it is already set.
3. ``CUDA_VISIBLE_DEVICES`` as inherited (Dask-CUDA, SLURM, Deadline affinity).

Threads: ``--threads N``, else OpenCue's ``CUE_THREADS``, else what the engine chooses (the CPUs
this process may run on). The count goes to ``NEURALSTYLE_THREADS`` (the engine's determinism
profile pins torch to it) and to ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

from neuralstyle.errors import InputError

__all__ = ["ENV_CACHE", "ENV_PROFILE", "ENV_THREADS", "prepare", "visible_gpus"]

ENV_PROFILE = "NEURALSTYLE_PROFILE"  # read by neuralstyle.engine.determinism
ENV_THREADS = "NEURALSTYLE_THREADS"  # read by neuralstyle.engine.determinism
ENV_CACHE = "NEURALSTYLE_CACHE"  # read by neuralstyle.cache
_CVD = "CUDA_VISIBLE_DEVICES"


def visible_gpus(env: MutableMapping[str, str] | None = None) -> list[str] | None:
    """The entries of ``CUDA_VISIBLE_DEVICES`` (ids or UUIDs), or None when it is unset."""
    value = (os.environ if env is None else env).get(_CVD)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def prepare(
    *,
    gpu: int | None = None,
    threads: int | None = None,
    profile: str | None = None,
    cache_dir: str | None = None,
    env: MutableMapping[str, str] | None = None,
) -> dict[str, str]:
    """Set the GPU, thread, profile and cache variables; return what was set (for the log).

    Args:
        gpu: ``--gpu``: index among the GPUs this process may see.
        threads: ``--threads``: CPU threads for the render.
        profile: ``strict`` or ``fast`` (validated by the engine when it applies it).
        cache_dir: where converted weights are cached (``NEURALSTYLE_CACHE``).
        env: the environment to change (default ``os.environ``; tests pass a dict).

    Raises:
        InputError: a bad ``--gpu``/``--threads``/``CUE_THREADS``/``CUE_GPU_CORES`` value, or a GPU
            choice that would change a process in which torch is already loaded.
    """
    target = os.environ if env is None else env
    changes: dict[str, str] = {}

    devices = _gpu_choice(gpu, target)
    if devices is not None and devices != target.get(_CVD):
        if env is None and "torch" in sys.modules:
            raise InputError(
                "the GPU must be chosen before torch loads; run the render in a fresh process "
                "(`neuralstyle render` or `python -m neuralstyle.farm`)"
            )
        changes[_CVD] = devices
        if "CUDA_DEVICE_ORDER" not in target:
            changes["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"

    count = _thread_count(threads, target)
    if count is not None:
        for name in (ENV_THREADS, "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            changes[name] = str(count)
    if profile is not None:
        changes[ENV_PROFILE] = profile
    if cache_dir is not None:
        changes[ENV_CACHE] = os.path.abspath(os.path.expanduser(cache_dir))
    target.update(changes)
    return changes


def _gpu_choice(gpu: int | None, env: MutableMapping[str, str]) -> str | None:
    if gpu is not None:
        if gpu < 0:
            raise InputError(f"--gpu must be 0 or more, got {gpu}")
        visible = visible_gpus(env)
        if visible is None:
            return str(gpu)
        if gpu >= len(visible):
            raise InputError(
                f"--gpu {gpu}: only {len(visible)} GPU(s) visible ({_CVD}={env.get(_CVD)!r})"
            )
        return visible[gpu]
    cores = env.get("CUE_GPU_CORES", "").strip()
    if cores:
        ids = [part.strip() for part in cores.replace(" ", ",").split(",") if part.strip()]
        if not all(part.isdigit() for part in ids):
            raise InputError(f"CUE_GPU_CORES must list GPU ids such as 0,1; got {cores!r}")
        return ",".join(ids)
    return None


def _thread_count(threads: int | None, env: MutableMapping[str, str]) -> int | None:
    if threads is not None:
        if threads < 1:
            raise InputError(f"--threads must be at least 1, got {threads}")
        return threads
    cue = env.get("CUE_THREADS", "").strip()
    if cue:
        if not cue.isdigit() or int(cue) < 1:
            raise InputError(f"CUE_THREADS must be a positive integer, got {cue!r}")
        return int(cue)
    return None
