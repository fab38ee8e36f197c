"""The farm render loop: for each frame read the plate, manage colour, stylise, write atomically,
verify, log.

:class:`FrameRenderer` renders frames in one process; the network loads once per process
(:mod:`neuralstyle.methods.builtin` keeps it) and stays loaded across frames and chunks.
:func:`render_frames` is the one frame loop, for local renders and Dask worker processes alike.

Stylisation is :func:`neuralstyle.stylize`, the node's own render, with the parameters the node
would have at that frame (:mod:`neuralstyle.farm.keyframes`), so a farm frame equals the node's.
:mod:`neuralstyle.farm.plate_channels` maps a plate's channels to the engine's and back;
:mod:`neuralstyle.farm.frame_stats` describes the device and times and measures each frame.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuralstyle.api import stylize
from neuralstyle.engine import determinism
from neuralstyle.errors import ImageIOError, NeuralStyleError
from neuralstyle.farm.colour_stage import ColourStage
from neuralstyle.farm.frame_source import open_source
from neuralstyle.farm.frame_stats import FrameMeter, describe_device
from neuralstyle.farm.job import RenderJob
from neuralstyle.farm.log import timestamp
from neuralstyle.farm.plate_channels import engine_input, output_plate
from neuralstyle.farm.preflight import check_mask_size
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.atomic import remove_stale_temps
from neuralstyle.io.plates import (
    Plate,
    encoded_for_verify,
    is_lossy,
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
        self.source = open_source(job.input)
        self.target = Sequence.parse(job.output)
        self.mask = open_source(job.mask) if job.mask else None
        self.profile = determinism.ensure()
        self.device, self._header = describe_device(job.device, self.profile)
        # Stylised frames of the temporal window, by frame: a sequential render stylises each
        # frame once (the window and one frame more; every entry is a whole frame).
        self._stylised: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        # Plates read ahead for a window, kept until their own frame renders: read once (a
        # video read backwards would seek to a key frame and decode the whole group again).
        self._ahead: OrderedDict[int, Plate] = OrderedDict()
        # Flows by (target, source) frame: each pair's DIS runs serve both of its frames.
        self._flows: dict[tuple[int, int], Any] = {}

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
        meter = FrameMeter(self.device)
        plate = self._ahead.pop(frame, None) or self.source.read(frame)
        meter.lap("read")
        params = self.job.keyframes.at(frame)
        styled = self._stylise(frame, plate, meter)
        meter.lap("stylise")
        if self.job.temporal:
            styled = self._consolidate(frame, styled)
            meter.lap("temporal")
        # the engine gives back the channels it was given: RGBA for a plate with alpha
        out = output_plate(plate, styled, self.stage, styled.shape[2] == 4)
        meter.lap("colour_out")

        self._write(frame, out_path, out, params, hooks)
        meter.lap("write")
        if self.job.verify:
            self._verify(out_path, out, plate)
            meter.lap("verify")
        result.seconds = meter.total()
        result.stages = meter.laps
        result.peak_mem_mb = meter.peak_mb()
        result.finished = time.time()
        return result

    def _stylise(self, frame: int, plate: Plate, meter: FrameMeter | None = None) -> np.ndarray:
        """``frame`` stylised on its own (kept for the temporal windows of the next frames: a
        frame stylised ahead for an earlier frame's window is not read, converted or stylised
        again); ``meter`` takes the mask read and the colour conversion as ``colour_in``."""
        if frame in self._stylised:
            return self._stylised[frame][0]
        mask = self._mask(frame, plate)
        colour, _ = engine_input(plate, self.stage)
        if meter is not None:
            meter.lap("colour_in")
        # A colour stage hands the engine straight colour (it unpremultiplies before OCIO).
        premultiplied = plate.premultiplied and self.stage is None
        styled = _stylize(colour, self.job.keyframes.at(frame), mask, premultiplied, self.job)
        if self.job.temporal:
            from neuralstyle.temporal.consolidate import display_for_flow  # torch: see frame_stats

            linear = colour.dtype.kind == "f"
            self._stylised[frame] = (styled, display_for_flow(colour, linear=linear))
            while len(self._stylised) > 2 * self.job.temporal + 2:
                self._stylised.popitem(last=False)
        return styled

    def _consolidate(self, frame: int, styled: np.ndarray) -> np.ndarray:
        """``frame``'s output from the stylisations of its window (temporal/consolidate.py)."""
        from neuralstyle.temporal.consolidate import Neighbour, consolidate  # torch: as above
        from neuralstyle.temporal.flow import CONSOLIDATION_SIDE, flows_both_ways

        own = self._stylised[frame][1]
        window = self.job.window(frame)
        # Pairs no later frame's window can use again.
        self._flows = {k: v for k, v in self._flows.items() if k[0] in window or k[1] in window}
        neighbours = []
        for other in window[1:]:
            if other not in self._stylised:
                plate = self.source.read(other)
                self._ahead[other] = plate
                while len(self._ahead) > 2 * self.job.temporal + 2:  # handles never rendered
                    self._ahead.popitem(last=False)
                self._stylise(other, plate)
            other_styled, other_display = self._stylised[other]
            if (frame, other) not in self._flows:
                there, back = flows_both_ways(own, other_display, max_side=CONSOLIDATION_SIDE)
                self._flows[frame, other], self._flows[other, frame] = there, back
            offset = self.job.frames.index(other) - self.job.frames.index(frame)
            neighbours.append(Neighbour(offset, other_styled, self._flows[frame, other]))
        self._stylised.move_to_end(frame)
        return consolidate(
            styled, neighbours, radius=self.job.temporal, amount=self.job.temporal_amount
        )

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
        mask = self.mask.read(frame, "mask").pixels[..., -1:]
        check_mask_size(self.mask.file(frame), mask.shape, plate.pixels.shape)
        return np.ascontiguousarray(mask)

    def _write(
        self,
        frame: int,
        path: Path,
        out: Plate,
        params: dict[str, float | str],
        hooks: Hooks | None,
    ) -> None:
        def before_rename(tmp: Path) -> None:
            if hooks is not None:
                hooks.before_rename(frame, tmp)

        write_plate(
            path,
            out,
            self.job.write,
            attributes={**self._header, **self._frame_header(frame, params)},
            colour_managed=self.stage is not None,
            before_rename=before_rename,
        )

    def _verify(self, path: Path, out: Plate, plate: Plate) -> None:
        """Read ``path`` back and compare it with ``out`` as the file stores it."""
        managed = self.stage is not None
        expected, tolerance = encoded_for_verify(path, out, self.job.write, managed)
        verify_plate(
            path,
            expected,
            shape=plate.pixels.shape[:2],
            lossy=is_lossy(path, self.job.write),
            tolerance=tolerance,
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
