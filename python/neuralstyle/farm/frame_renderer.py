"""The farm render loop: for each frame read the plate, manage colour, stylise, write atomically,
verify, log.

:class:`FrameRenderer` renders frames in one process; the network loads once per process
(:mod:`neuralstyle.methods.builtin` keeps it) and stays loaded across frames and chunks.
:func:`render_frames` is the one frame loop, for local renders and Dask worker processes alike.

Stylisation is :func:`neuralstyle.stylize`, the node's own render, with the parameters the node
would have at that frame (:mod:`neuralstyle.farm.keyframes`), so a farm frame equals the node's.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuralstyle import __version__
from neuralstyle.api import stylize
from neuralstyle.engine import determinism
from neuralstyle.errors import ImageIOError, NeuralStyleError
from neuralstyle.farm.colour_stage import ColourStage
from neuralstyle.farm.job import RenderJob
from neuralstyle.farm.log import timestamp
from neuralstyle.farm.preflight import check_mask_size
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.atomic import remove_stale_temps
from neuralstyle.io.plates import (
    Plate,
    encoded_for_verify,
    is_lossy,
    read_plate,
    verify_plate,
    write_plate,
)

__all__ = ["FrameRenderer", "FrameResult", "Hooks", "render_frames"]


class Hooks(Protocol):
    """Test hooks around a frame (:mod:`neuralstyle.testing.faults`); never set in production."""

    def before_frame(self, frame: int) -> None: ...

    def before_rename(self, frame: int, tmp: Path) -> None: ...


@dataclass
class FrameResult:
    """What happened to one frame (the fields of its log line)."""

    frame: int
    status: str  # "done" or "skipped"
    output: str
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    device: str = ""
    peak_mem_mb: float = 0.0
    pid: int = 0
    note: str = ""
    finished: float = 0.0  # time.time() when the frame was written

    def fields(self) -> dict[str, object]:
        out: dict[str, object] = {
            "time": timestamp(self.finished or None),
            "frame": self.frame,
            "status": self.status,
        }
        if self.status == "done":
            out["seconds"] = round(self.seconds, 4)
            out.update({k: round(v, 4) for k, v in self.stages.items()})
            out["device"] = self.device
            out["peak_mem_mb"] = round(self.peak_mem_mb, 1)
        if self.note:
            out["note"] = self.note
        out["pid"] = self.pid
        out["out"] = self.output
        return out


class FrameRenderer:
    """Renders frames of one job in this process (the network stays loaded between frames).

    Call :func:`neuralstyle.farm.environment.prepare` before making one: it imports torch.
    """

    def __init__(self, job: RenderJob, stage: ColourStage | None = None) -> None:
        self.job = job
        self.stage = stage if stage is not None or not job.colour.managed else job.colour.check()
        self.source = Sequence.parse(job.input)
        self.target = Sequence.parse(job.output)
        self.mask = Sequence.parse(job.mask) if job.mask else None
        self.profile = determinism.ensure()
        self.device, self._header = _describe_device(job.device, self.profile)

    def render(self, frame: int, hooks: Hooks | None = None) -> FrameResult:
        """Render ``frame`` (or skip it when its output exists and ``skip_existing`` is set).

        Raises:
            ImageIOError, InputError, ModelError, DeviceError: as the engine and I/O raise them.
        """
        out_path = self.target.path(frame)
        result = FrameResult(frame, "done", str(out_path), device=self.device, pid=os.getpid())
        if self.job.skip_existing and out_path.is_file():
            reason = self._existing_is_bad(out_path)
            if reason is None:
                result.status = "skipped"
                return result
            result.note = f"re-rendered:{reason}"
        if hooks is not None:
            hooks.before_frame(frame)
        remove_stale_temps([out_path])
        self._reset_peak()
        clock = _Clock()
        plate = read_plate(self.source.path(frame))
        mask = self._mask(frame, plate)
        clock.lap("read")

        colour, has_alpha = self._engine_input(plate)
        clock.lap("colour_in")
        params = self.job.keyframes.at(frame)
        styled = _stylize(
            colour, params, mask, plate.premultiplied and self.stage is None, self.job
        )
        clock.lap("stylise")
        if self.stage is not None:
            styled = self.stage.from_engine(styled, plate.premultiplied and has_alpha)
        out = self._output_plate(plate, styled)
        clock.lap("colour_out")

        attributes = {**self._header, **self._frame_header(frame, params)}
        managed = self.stage is not None

        def before_rename(tmp: Path) -> None:
            if hooks is not None:
                hooks.before_rename(frame, tmp)

        write_plate(
            out_path,
            out,
            self.job.write,
            attributes=attributes,
            colour_managed=managed,
            before_rename=before_rename,
        )
        clock.lap("write")
        if self.job.verify:
            expected, tolerance = encoded_for_verify(out_path, out, self.job.write, managed)
            verify_plate(
                out_path,
                expected,
                shape=plate.pixels.shape[:2],
                lossy=is_lossy(out_path, self.job.write),
                tolerance=tolerance,
            )
            clock.lap("verify")
        result.seconds = clock.total()
        result.stages = clock.laps
        result.peak_mem_mb = self._peak_mb()
        result.finished = time.time()
        return result

    def _existing_is_bad(self, path: Path) -> str | None:
        """None when an existing output can stay; else why it must be rendered again."""
        if not self.job.verify:
            return None if path.stat().st_size > 0 else "empty"
        try:
            verify_plate(path)
        except ImageIOError:
            return "failed-verify"
        return None

    def _mask(self, frame: int, plate: Plate) -> np.ndarray | None:
        if self.mask is None:
            return None
        path = self.mask.path(frame)
        mask = read_plate(path, "mask").pixels[..., -1:]
        check_mask_size(path, mask.shape, plate.pixels.shape)
        return np.ascontiguousarray(mask)

    def _engine_input(self, plate: Plate) -> tuple[np.ndarray, bool]:
        """The colour the engine gets, and whether it carries alpha."""
        colour = plate.pixels[..., : plate.colour]
        if plate.colour in (1, 2):  # grey: the engine's 1-channel images are alpha-only
            colour = colour[..., [0, 0, 0, 1] if plate.colour == 2 else [0, 0, 0]]
        has_alpha = colour.shape[2] == 4
        if self.stage is None:
            return np.ascontiguousarray(colour), has_alpha
        if colour.dtype.kind != "f":
            colour = colour.astype(np.float32) / float(np.iinfo(colour.dtype).max)
        return self.stage.to_engine(colour, plate.premultiplied), has_alpha

    def _output_plate(self, plate: Plate, styled: np.ndarray) -> Plate:
        names = ("R", "G", "B", "A")[: styled.shape[2]]
        extra = plate.extra
        if plate.colour >= 3:
            names = tuple(plate.channels[: plate.colour])
        if extra.shape[2] and extra.dtype != styled.dtype:
            extra = extra.astype(np.float32) / float(np.iinfo(extra.dtype).max)
        pixels = np.concatenate([styled, extra], axis=2) if extra.shape[2] else styled
        formats = ("half",) * styled.shape[2] + plate.formats[plate.colour :]
        return Plate(
            pixels,
            names + tuple(plate.channels[plate.colour :]),
            styled.shape[2],
            plate.premultiplied,
            dict(plate.attributes),
            formats,
        )

    def _frame_header(self, frame: int, params: dict[str, float | str]) -> dict[str, Any]:
        header: dict[str, Any] = {
            "neuralstyle:frame": int(frame),
            "neuralstyle:params": json.dumps(
                {**params, "method": self.job.method or "auto", **self.job.controls},
                sort_keys=True,
            ),
        }
        if self.stage is not None:
            header.update(self.stage.describe())
            header["oiio:ColorSpace"] = self.stage.inverse.target.name
        return header

    def _reset_peak(self) -> None:
        import torch  # see _describe_device

        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()

    def _peak_mb(self) -> float:
        import torch  # see _describe_device

        if self.device.startswith("cuda"):
            return float(torch.cuda.max_memory_allocated()) / 2**20
        # The process high-water mark (ru_maxrss is in KiB on Linux): on CPU, frames share it.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _stylize(
    colour: np.ndarray,
    params: dict[str, float | str],
    mask: np.ndarray | None,
    premultiplied: bool,
    job: RenderJob,
) -> np.ndarray:
    second = str(params["second_style"]) or None
    return stylize(
        colour,
        str(params["style"]),
        method=job.method,
        strength=float(params["strength"]),
        second_style=second,
        style_blend=float(params["style_blend"]),
        stroke_scale=float(params["stroke_scale"]),
        mask=mask,
        premultiplied=premultiplied,
        device=job.device,
        **job.controls,
    )


def _describe_device(name: str, profile: str) -> tuple[str, dict[str, Any]]:
    """The device in words for the log, and the numerics header every output gets."""
    # Not at module level: torch (about 1 s, -X importtime) reads the GPU and thread variables
    # when it loads, so it waits for environment.prepare() (the package docstring says why).
    import torch

    from neuralstyle.engine.device import resolve_device

    device = resolve_device(name)
    if device.type == "cuda":
        index = torch.cuda.current_device()
        label = f"cuda:{index}"
        hardware = torch.cuda.get_device_name(index)
    else:
        label = "cpu"
        hardware = torch.backends.cpu.get_cpu_capability()
    header = {
        "neuralstyle:version": __version__,
        "neuralstyle:profile": profile,
        "neuralstyle:device": f"{label} {hardware}",
        "neuralstyle:threads": torch.get_num_threads(),
        "neuralstyle:torch": torch.__version__,
        "neuralstyle:cuda": torch.version.cuda or "none",
        "neuralstyle:cudnn": str(torch.backends.cudnn.version() or "none"),
        "neuralstyle:mkldnn": 1 if torch.backends.mkldnn.enabled else 0,
        "neuralstyle:visible_gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    }
    return label, header


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


def render_frames(
    renderer: FrameRenderer,
    frames: list[int],
    *,
    on_frame: Callable[[FrameResult], None] | None = None,
    on_failure: Callable[[int, NeuralStyleError], None] | None = None,
    hooks: Hooks | None = None,
) -> list[FrameResult]:
    """Render ``frames`` in order with ``renderer``; stop at the first failure (it propagates).

    The one frame loop of a process, local or a Dask worker's.

    Args:
        on_frame: called with each :class:`FrameResult` as it completes (the log, the task).
        on_failure: called with the frame and the error before it propagates.
    """
    results = []
    for frame in frames:
        try:
            result = renderer.render(frame, hooks)
        except NeuralStyleError as exc:
            if on_failure is not None:
                on_failure(frame, exc)
            raise
        results.append(result)
        if on_frame is not None:
            on_frame(result)
    return results
