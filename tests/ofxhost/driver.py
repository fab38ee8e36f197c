"""Runs the headless OpenFX host (tests/ofxhost) and reads back what it wrote.

Tests import this module (``sys.path`` gets ``tests/ofxhost``) and call :func:`locate` once per
session: it fails, never skips, when the host or a bundle has not been built, because CI builds
them before it runs pytest. Frames go in and come out as top-down numpy arrays in ``.npy`` files;
the host's JSON log says what the plugin was handed (data pointers, row bytes, bounds), what it
answered and which messages it sent.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ENV_BUILD_DIR = "NEURALSTYLE_BUILD_DIR"  # default: <repo>/build

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_CUDA = 0, 1, 2, 77


def build_dir() -> Path:
    return Path(os.environ.get(ENV_BUILD_DIR, REPO / "build"))


@dataclass(frozen=True)
class Built:
    host: Path
    bundle: Path


def locate(bundle: str = "NeuralStyle.ofx.bundle") -> Built:
    """The built host and the named bundle under the build directory.

    ``bundle`` is relative to the build directory (``tests/ofxhost/OfxhostFixture.ofx.bundle`` for
    the host's own fixture plugin). Raises FileNotFoundError saying how to build what is missing.
    """
    root = build_dir()
    built = Built(host=root / "tests" / "ofxhost" / "ofxhost", bundle=root / bundle)
    missing = [str(p) for p in (built.host, built.bundle) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"not built: {', '.join(missing)}. Build first: cmake -S {REPO} -B {root} "
            f"-DPython3_EXECUTABLE={REPO}/.venv/bin/python "
            f"-Dpybind11_DIR=$(python -m pybind11 --cmakedir) && cmake --build {root} -j2 "
            f"(or set {ENV_BUILD_DIR})"
        )
    return built


@dataclass
class Result:
    """One run of the host: exit code, output streams, log and where the frames are."""

    returncode: int
    stdout: str
    stderr: str
    log: dict[str, Any]
    out_dir: Path
    args: list[str] = field(default_factory=list)

    def instance(self, k: int = 0) -> dict[str, Any]:
        if "instances" not in self.log:  # usage error, or the host died (a plugin crash)
            raise AssertionError(f"the host rendered nothing:\n{self.describe()}")
        return self.log["instances"][k]

    def frame(self, time: int, instance: int = 0) -> dict[str, Any]:
        """The log record of one frame: ok, identity, render_status, images, messages..."""
        for record in self.instance(instance)["frames"]:
            if record["time"] == time:
                return record
        raise KeyError(f"no frame {time} in the log of instance {instance}")

    def output(self, time: int, instance: int = 0) -> np.ndarray:
        return np.load(self.frame_path("frame", time, instance))

    def dumped_source(self, time: int, instance: int = 0) -> np.ndarray:
        """The source exactly as the plugin received it (needs ``dump_inputs=True``)."""
        return np.load(self.frame_path("source", time, instance))

    def frame_path(self, stem: str, time: int, instance: int = 0) -> Path:
        folder = self.out_dir if len(self.log["instances"]) == 1 else self.out_dir / f"i{instance}"
        return folder / f"{stem}.{time:04d}.npy"

    def image(self, time: int, clip: str, instance: int = 0) -> dict[str, Any] | None:
        """The first image of ``clip`` the plugin fetched while rendering ``time``."""
        for image in self.frame(time, instance)["images"]:
            if image["clip"] == clip:
                return image
        return None

    def messages(self, instance: int = 0) -> list[dict[str, str]]:
        return self.instance(instance)["messages"]

    def describe(self) -> str:
        """For assertion messages: the command and what the host printed."""
        return f"$ {' '.join(self.args)}\nexit {self.returncode}\n{self.stderr[-4000:]}"


def write_frames(folder: Path, stem: str, frames: Mapping[int, np.ndarray]) -> str:
    """Writes ``stem.%04d.npy`` per frame; returns the pattern the host takes."""
    folder.mkdir(parents=True, exist_ok=True)
    for time, pixels in frames.items():
        np.save(folder / f"{stem}.{time:04d}.npy", np.ascontiguousarray(pixels))
    return str(folder / f"{stem}.%04d.npy")


def run(
    built: Built,
    work: Path,
    frames: Mapping[int, np.ndarray] | Sequence[Mapping[int, np.ndarray]],
    *,
    params: Mapping[str, object] | None = None,
    keys: Mapping[str, Sequence[tuple[float, object]]] | None = None,
    edits: Sequence[tuple[int, str, object]] = (),
    mask: Mapping[int, np.ndarray] | None = None,
    context: str | None = None,
    row_bytes: str | None = None,
    row_padding: int = 0,
    offset: tuple[int, int] | None = None,
    render_scale: float = 1.0,
    proxy_size: tuple[int, int] | None = None,
    rod: str | None = None,
    python: str = "none",
    instances: int = 1,
    cuda: bool = False,
    dump_inputs: bool = False,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout: float = 600,
    data_limit: int | None = None,
) -> Result:
    """Renders ``frames`` (time -> top-down image) through the host; never raises on a failed
    render (the exit code and log say what happened).

    ``frames`` may also be a list of such mappings, one per instance (same times): the host then
    runs one instance per input in one process, like a comp with one node per clip.
    ``proxy_size`` ``(width, height)`` resamples every frame to that size, a render scale per axis
    as MLT's previews have; ``rod="proxy"`` reports regions of definition in those pixels, as MLT
    does (default ``"canonical"``, as the spec says). ``data_limit`` caps the host process's data
    memory (``RLIMIT_DATA``, bytes), so that a large enough frame genuinely runs out of memory.
    """
    work.mkdir(parents=True, exist_ok=True)
    out_dir = work / "out"
    log_path = work / "log.json"
    clips = [frames] if isinstance(frames, Mapping) else list(frames)
    first, last = min(clips[0]), max(clips[0])
    args = [str(built.host), "--bundle", str(built.bundle)]
    for k, clip in enumerate(clips):
        args += ["--input", write_frames(work / "in", f"source{k}", clip)]
    if len(clips) > 1:
        instances = len(clips)
    args += [
        "--frames", f"{first}-{last}",
        "--out-dir", str(out_dir),
        "--log", str(log_path),
        "--python", python,
        "--instances", str(instances),
    ]  # fmt: skip
    for name, value in (params or {}).items():
        args += ["--param", f"{name}={_text(value)}"]
    for name, key_list in (keys or {}).items():
        args += ["--key", f"{name}=" + ",".join(f"{t:g}:{_text(v)}" for t, v in key_list)]
    for time, name, value in edits:
        args += ["--edit", f"{time}:{name}={_text(value)}"]
    if mask is not None:
        args += ["--mask", write_frames(work / "in", "mask", mask)]
    if context:
        args += ["--context", context]
    if row_bytes:
        args += ["--row-bytes", row_bytes]
    if row_padding:
        args += ["--row-padding", str(row_padding)]
    if offset:
        args += ["--offset", f"{offset[0]},{offset[1]}"]
    if render_scale != 1.0:
        args += ["--render-scale", f"{render_scale:g}"]
    if proxy_size:
        args += ["--proxy-size", f"{proxy_size[0]}x{proxy_size[1]}"]
    if rod:
        args += ["--rod", rod]
    if cuda:
        args.append("--cuda")
    if dump_inputs:
        args.append("--dump-inputs")
    args += list(extra)
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
        preexec_fn=None if data_limit is None else lambda: _limit_data(data_limit),
    )
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    return Result(proc.returncode, proc.stdout, proc.stderr, log, out_dir, args)


class Runs:
    """Host runs by name, started in the background; ``get`` waits for one."""

    def __init__(self, built: Built, root: Path) -> None:
        self.built, self.root = built, root
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: dict[str, Future[Result]] = {}

    def submit(self, name: str, frames: dict[int, np.ndarray], **kwargs: Any) -> None:
        work = self.root / name
        trace = work / "trace.jsonl"
        env = {"NEURALSTYLE_TRACE": str(trace), **kwargs.pop("env", {})}
        self.futures[name] = self.pool.submit(run, self.built, work, frames, env=env, **kwargs)

    def get(self, name: str) -> Result:
        return self.futures[name].result()

    def trace(self, name: str) -> list[dict[str, Any]]:
        return read_trace(self.root / name / "trace.jsonl")


def describe(
    built: Built, work: Path, env: Mapping[str, str] | None = None, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """The plugin's descriptor as the host saw it: plugin props, and per context its clips and
    params (type, default, min, max, options, animates). ``extra``: more host options."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "describe.json"
    args = [str(built.host), "--bundle", str(built.bundle), "--describe-json", str(out), *extra]
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ofxhost --describe-json failed ({proc.returncode}):\n{proc.stderr}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def read_trace(path: Path) -> list[dict[str, Any]]:
    """The engine's NEURALSTYLE_TRACE file: one JSON object per render."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _limit_data(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
