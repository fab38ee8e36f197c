"""Distributed rendering on Dask: frame chunks as tasks, one render process per worker.

Layout (what a wrangler starts by hand, or ``--workers N`` starts locally)::

    dask scheduler --host 10.0.0.1
    CUDA_VISIBLE_DEVICES=0 dask worker tcp://10.0.0.1:8786 --nthreads 1 --resources GPU=1
    CUDA_VISIBLE_DEVICES=1 dask worker tcp://10.0.0.1:8786 --nthreads 1 --resources GPU=1
    neuralstyle render plate.####.exr -o out.####.exr --frames 1001-1100 \\
        --scheduler tcp://10.0.0.1:8786 --device cuda --task-resources GPU=1

Each task renders one chunk in its worker's render process
(:mod:`neuralstyle.farm.task_process`), which loads the network once and is killed when a chunk
overruns ``--timeout``. Failures:

- retryable (out of memory, I/O, timeout, a dead render process): raised, so Dask retries the task
  up to ``--retries`` times, on any worker;
- fatal (bad input, missing model): returned, not raised, so Dask does not retry them;
- a worker that dies (segfault, OOM killer) is restarted by its nanny and its task moved; after
  ``distributed.scheduler.allowed-failures`` deaths (``--retries`` on a local cluster) the task
  fails with ``KilledWorker``.

Frames are written atomically, so neither a kill nor a retry leaves a partial frame. The run exits
non-zero when any chunk failed for good, after the other chunks finished.

Needs the ``farm`` extra (Dask): :mod:`neuralstyle.farm.render_command` checks for it before
importing this module.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dask
from distributed import Client, KilledWorker, Nanny, Scheduler, SpecCluster, as_completed

from neuralstyle.errors import DeviceError, InputError, ModelError, NeuralStyleError
from neuralstyle.farm.frame_ranges import chunk, format_frames
from neuralstyle.farm.frame_renderer import FrameResult
from neuralstyle.farm.job import RenderJob, output_paths
from neuralstyle.farm.log import FrameLog
from neuralstyle.farm.task_process import ProcessSettings, RenderProcess
from neuralstyle.io.atomic import remove_stale_temps
from neuralstyle.testing.faults import FaultPlan

__all__ = [
    "ChunkOutcome",
    "ClusterSettings",
    "FarmError",
    "jobqueue_cluster",
    "local_cluster",
    "render_distributed",
    "run_chunk",
]


class FarmError(NeuralStyleError):
    """Chunks failed for good; the exit status is that of the first failure."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ChunkOutcome:
    """A task's answer: the frames rendered, or a fatal error (not retried)."""

    frames: list[int]
    results: list[FrameResult]
    error: NeuralStyleError | None
    worker_pid: int


@dataclass(frozen=True)
class TaskSettings:
    process: ProcessSettings
    timeout: float | None


# ----------------------------------------------------------------------------- worker side

_lock = threading.Lock()
_process: RenderProcess | None = None


def _render_process(settings: ProcessSettings) -> RenderProcess:
    global _process  # noqa: PLW0603  # one render process per worker process
    if _process is not None and _process.settings != settings:
        _process.close()
        _process = None
    if _process is None:
        _process = RenderProcess(settings)
    return _process


def run_chunk(job: RenderJob, frames: list[int], settings: TaskSettings) -> ChunkOutcome:
    """The Dask task: render ``frames`` in this worker's render process.

    Raises:
        DeviceError, ImageIOError, TaskTimeoutError, RenderProcessError: retryable failures.
    """
    plan = FaultPlan.from_env()  # the test hook; None unless NEURALSTYLE_FARM_INJECT is set
    with _lock:  # a worker with several threads still renders one chunk at a time
        process = _render_process(settings.process)
        try:
            results = process.run(("render", job, frames, plan), settings.timeout)
        except (InputError, ModelError) as exc:
            return ChunkOutcome(frames, [], exc, os.getpid())
    return ChunkOutcome(frames, results, None, os.getpid())


# ----------------------------------------------------------------------------- client side


@dataclass(frozen=True)
class ClusterSettings:
    """Where and how chunks run.

    Attributes:
        scheduler: address of an existing scheduler (``tcp://host:8786``); else a new cluster.
        workers: worker processes (or batch jobs) of a new cluster.
        cluster: ``local``, or ``slurm``/``pbs`` through dask-jobqueue.
        cluster_options: keyword arguments for the dask-jobqueue cluster.
        worker_gpus: ``CUDA_VISIBLE_DEVICES`` of each local worker (round robin).
        task_resources: resources every task needs (``{"GPU": 1}``).
        chunk_size: frames per task.
        retries: retries of a failed task (and worker deaths allowed on a local cluster).
        timeout: seconds a task may run before its render process is killed.
    """

    scheduler: str | None = None
    workers: int = 1
    cluster: str = "local"
    cluster_options: Mapping[str, Any] = field(default_factory=dict)
    worker_gpus: tuple[str, ...] = ()
    task_resources: Mapping[str, float] = field(default_factory=dict)
    chunk_size: int = 1
    retries: int = 2
    timeout: float | None = None


def local_cluster(settings: ClusterSettings, process: ProcessSettings) -> Any:
    """A cluster of ``settings.workers`` worker processes on 127.0.0.1, dashboards off.

    Each worker runs one task at a time with its own render threads (the CPUs divided between the
    workers unless ``--threads``) and, with ``worker_gpus``, its own ``CUDA_VISIBLE_DEVICES`` and
    a ``GPU=1`` resource.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = process.threads or max(1, (cpus or 1) // settings.workers)
    workers = {}
    for i in range(settings.workers):
        env = {"NEURALSTYLE_THREADS": str(threads)}
        resources = {}
        if settings.worker_gpus:
            env["CUDA_VISIBLE_DEVICES"] = settings.worker_gpus[i % len(settings.worker_gpus)]
            resources["GPU"] = 1.0
        options = {
            "nthreads": 1,
            "host": "127.0.0.1",
            "dashboard": False,
            "memory_limit": 0,  # results are small; frames never pass through Dask
            "env": env,
            "resources": resources,
            # Task failures reach the client and its log; the workers' copies would interleave.
            "silence_logs": logging.CRITICAL,
        }
        workers[f"neuralstyle-{i}"] = {"cls": Nanny, "options": options}
    scheduler = {
        "cls": Scheduler,
        "options": {"host": "127.0.0.1", "dashboard": False, "dashboard_address": None},
    }
    config = {
        "distributed.scheduler.allowed-failures": settings.retries,
        # One task per worker at a time, none queued behind it: a worker that dies takes only
        # the chunk it was rendering with it (queued tasks would count as suspects too).
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(config):
        return SpecCluster(
            scheduler=scheduler, workers=workers, silence_logs=logging.ERROR, name="neuralstyle"
        )


def jobqueue_cluster(settings: ClusterSettings) -> Any:
    """A SLURM or PBS cluster (dask-jobqueue, optional): one job per worker, one GPU each.

    Raises:
        InputError: dask-jobqueue is not installed, or an unknown cluster kind.
    """
    try:
        import dask_jobqueue  # an extra of its own (farm-hpc), so imported only when asked for
    except ImportError:
        raise InputError(
            "--cluster slurm/pbs needs dask-jobqueue: pip install 'neuralstyle[farm-hpc]'"
        ) from None
    classes = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}
    if settings.cluster not in classes:
        raise InputError(f"--cluster must be local, slurm or pbs, got {settings.cluster!r}")
    directive = "--gres=gpu:1" if settings.cluster == "slurm" else "-l ngpus=1"
    options: dict[str, Any] = {
        "cores": 1,
        "processes": 1,
        "memory": "16GB",
        "job_extra_directives": [directive],
        "worker_extra_args": ["--resources", "GPU=1"],
        "scheduler_options": {"dashboard_address": None},
    }
    options.update(settings.cluster_options)
    cluster = classes[settings.cluster](**options)
    if settings.workers:
        cluster.scale(jobs=settings.workers)
    return cluster


def render_distributed(
    job: RenderJob,
    frames: list[int],
    settings: ClusterSettings,
    process: ProcessSettings,
    log: FrameLog,
) -> list[FrameResult]:
    """Render ``frames`` as chunks on a Dask cluster; log each frame as its chunk completes.

    Raises:
        FarmError: chunks failed for good (after the others finished); no partial frames.
        DeviceError: the scheduler cannot be reached.
    """
    cluster = None
    try:
        if settings.scheduler is not None:
            try:
                client = Client(settings.scheduler, timeout="20s")
            except OSError as exc:
                raise DeviceError(
                    f"cannot reach the Dask scheduler at {settings.scheduler}: {exc}"
                ) from None
        else:
            make = local_cluster if settings.cluster == "local" else None
            cluster = make(settings, process) if make is not None else jobqueue_cluster(settings)
            client = Client(cluster)
        with client:
            task = TaskSettings(process, settings.timeout)
            futures = {
                client.submit(
                    run_chunk,
                    job,
                    part,
                    task,
                    key=f"neuralstyle-{format_frames(part)}-{os.getpid()}",
                    retries=settings.retries,
                    resources=dict(settings.task_resources) or None,
                    pure=False,
                ): part
                for part in chunk(frames, settings.chunk_size)
            }
            results, failures = _collect(as_completed(futures), futures, log)
    finally:
        if cluster is not None:
            cluster.close()
        # A killed render process may leave a temporary file; its frame was never renamed.
        remove_stale_temps(output_paths(job, frames))
    if failures:
        failed = sum(len(part) for part, _ in failures)
        part, first = failures[0]
        raise FarmError(
            f"{failed} of {len(frames)} frames failed; first: frames {format_frames(part)}: "
            f"{type(first).__name__}: {_one_line(first)}",
            getattr(first, "exit_code", 1),
        )
    return results


def _collect(
    completed: Any, futures: Mapping[Any, list[int]], log: FrameLog
) -> tuple[list[FrameResult], list[tuple[list[int], BaseException]]]:
    results: list[FrameResult] = []
    failures: list[tuple[list[int], BaseException]] = []
    for future in completed:
        part = futures[future]
        error: BaseException | None
        try:
            outcome: ChunkOutcome = future.result()
            error = outcome.error
        except Exception as exc:  # what the task raised after its retries, or KilledWorker
            error = _as_farm_error(exc)
        if error is not None:
            failures.append((part, error))
            for frame in part:
                log.failed(frame, error)
            continue
        for result in outcome.results:
            results.append(result)
            log.frame(result.fields())
    return results, failures


def _as_farm_error(exc: Exception) -> BaseException:
    if isinstance(exc, KilledWorker):
        # A worker died running this task, again and again: retryable elsewhere (exit 75).
        return DeviceError(f"the worker died while rendering ({_one_line(exc)})")
    return exc


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
