"""A render process that can be killed: the per-task timeout Dask lacks.

A Dask task cannot be interrupted inside its worker (threads cannot be killed). So each worker
process starts one render process (``python -m neuralstyle.farm.task_process``) and sends it
chunks over a socket pair; the render process keeps the network loaded between chunks. A chunk
that overruns its timeout gets the render process killed (SIGKILL) and :class:`TaskTimeoutError`
raised; the next chunk starts a fresh one. Frames are written atomically, so a kill never leaves a
partial frame under its final name.

The render process exits on its own when its parent dies (its parent-pid changes or the socket
closes), so a killed worker leaves no render running behind it.

Torch is imported only in the render process, after :func:`neuralstyle.farm.environment.prepare`
has set the GPU and thread variables; the worker process never imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import neuralstyle
from neuralstyle.engine import determinism
from neuralstyle.errors import DeviceError, NeuralStyleError
from neuralstyle.farm.environment import prepare

__all__ = [
    "STARTUP_TIMEOUT",
    "ProcessSettings",
    "RenderProcess",
    "RenderProcessError",
    "TaskTimeoutError",
]

#: Seconds a new render process may take to import torch and the engine (slow shared disks).
STARTUP_TIMEOUT = 300.0


class TaskTimeoutError(DeviceError):
    """A chunk ran past its timeout; its render process was killed (retryable)."""


class RenderProcessError(DeviceError):
    """The render process ended without a reply (crash, out-of-memory kill); retryable."""


@dataclass(frozen=True)
class ProcessSettings:
    """What a render process is started with (a different value needs a new process)."""

    profile: str = "strict"
    threads: int | None = None
    gpu: int | None = None
    cache_dir: str | None = None


class RenderProcess:
    """The parent's handle on one render process (started on first use)."""

    def __init__(self, settings: ProcessSettings) -> None:
        self.settings = settings
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _start(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        # The render process imports this package from where this process found it.
        root = str(Path(neuralstyle.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # Dask's nanny sets OMP_NUM_THREADS=1 for its workers; the render decides for itself.
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.pop(name, None)
        s = self.settings
        args = [sys.executable, "-m", "neuralstyle.farm.task_process", str(child.fileno())]
        args += ["--profile", s.profile]
        if s.threads is not None:
            args += ["--threads", str(s.threads)]
        if s.gpu is not None:
            args += ["--gpu", str(s.gpu)]
        if s.cache_dir is not None:
            args += ["--cache-dir", s.cache_dir]
        self._proc = subprocess.Popen(
            args, pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL
        )
        child.close()
        self._conn = Connection(parent.detach())

    def run(
        self,
        request: tuple[Any, ...],
        timeout: float | None,
        on_message: Callable[[Any], None] | None = None,
    ) -> Any:
        """Send ``request`` and wait for the final reply (``("done", value)``).

        ``("frame", result)`` messages on the way are passed to ``on_message``. Starting the
        process (importing torch) is not part of ``timeout``; it has :data:`STARTUP_TIMEOUT`.

        Raises:
            TaskTimeoutError: no final reply within ``timeout`` seconds (the process is killed).
            RenderProcessError: the process ended without replying, or did not start.
            NeuralStyleError: what the render raised (re-raised here).
        """
        if self._proc is None or self._proc.poll() is not None:
            self._start()
            self._wait("ready", STARTUP_TIMEOUT, "start")
        assert self._conn is not None
        self._conn.send(request)
        return self._wait("done", timeout, "task", on_message)

    def _wait(
        self,
        final: str,
        timeout: float | None,
        what: str,
        on_message: Callable[[Any], None] | None = None,
    ) -> Any:
        assert self._conn is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready = self._conn.poll(remaining)
                message = self._conn.recv() if ready else None
            except (EOFError, OSError):
                code = self.kill()
                raise RenderProcessError(f"the render process died (exit status {code})") from None
            if message is None:
                self.kill()
                if what == "start":
                    raise RenderProcessError(f"the render process did not start in {timeout:g} s")
                raise TaskTimeoutError(f"the task ran past its timeout of {timeout:g} s; killed")
            kind, value = message
            if kind == final:
                return value
            if kind == "error":
                if what == "start":
                    self.kill()
                raise value
            if on_message is not None:
                on_message(value)

    def kill(self) -> int | None:
        """Kill the process now; return its exit status."""
        code = None
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()
            code = self._proc.wait()
        self._close_conn()
        return code

    def close(self, grace: float = 5.0) -> None:
        """Ask the process to exit; kill it after ``grace`` seconds."""
        if self._proc is not None and self._proc.poll() is None and self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(("exit",))
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._close_conn()

    def _close_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None
        self._proc = None if self._proc is None or self._proc.poll() is not None else self._proc


# ----------------------------------------------------------------------------- the child side


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (re-parented processes see another parent pid)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(70)


def _serve(conn: Connection) -> None:
    # Not at module level: OpenBLAS (with numpy) and torch read the thread and GPU variables
    # when they load, so they wait for main()'s prepare(). Loading torch and the engine (about
    # 1 s, -X importtime) and applying the numerics profile happen before "ready", outside any
    # task's timeout.
    import neuralstyle._api_arrays  # what stylize() loads on its first call
    import neuralstyle.engine.pipeline
    import neuralstyle.methods.builtin  # noqa: F401  # these three are preloads
    from neuralstyle.farm.frame_renderer import FrameRenderer, render_frames

    try:
        determinism.ensure()
    except NeuralStyleError as exc:
        conn.send(("error", exc))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "exit":
            return
        _, job, frames, hooks = message
        try:
            results = render_frames(
                FrameRenderer(job),  # cheap: the network stays loaded in this process
                frames,
                on_frame=lambda result: conn.send(("frame", result)),
                hooks=hooks,
            )
            conn.send(("done", results))
        except NeuralStyleError as exc:
            conn.send(("error", exc))
        except Exception as exc:  # a bug: report it to the task, with the traceback here
            traceback.print_exc()
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuralstyle.farm.task_process")
    parser.add_argument("fd", type=int)
    parser.add_argument("--profile", default="strict")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--gpu", type=int)
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)

    # Before anything imports torch: GPU, threads, profile, cache.
    threads = args.threads or int(os.environ.get("NEURALSTYLE_THREADS") or 0) or None
    prepare(gpu=args.gpu, threads=threads, profile=args.profile, cache_dir=args.cache_dir)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn = Connection(args.fd)
    try:
        _serve(conn)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
