"""The farm render loop: for each frame read the plate, manage colour, stylise, hand the frame to
its output target (:mod:`neuralstyle.farm.output_target`: a file per frame, written atomically
and verified, or one video file), log.

:class:`FrameRenderer` renders frames in one process; the network loads once per process
(:mod:`neuralstyle.methods.builtin` keeps it) and stays loaded across frames and chunks.
:func:`render_frames` is the one frame loop, for local renders and Dask worker processes alike.

Stylisation is :func:`neuralstyle.stylize`, the node's own render, with the parameters the node
would have at that frame (:mod:`neuralstyle.farm.keyframes`), so a farm frame equals the node's.
:mod:`neuralstyle.farm.plate_channels` maps a plate's channels to the engine's and back;
:mod:`neuralstyle.farm.frame_stats` describes the device and times and measures each frame.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from neuralstyle.api import stylize
from neuralstyle.engine import determinism, frame_arena
from neuralstyle.errors import NeuralStyleError
from neuralstyle.farm.colour_stage import ColourStage
from neuralstyle.farm.frame_source import open_source
from neuralstyle.farm.frame_stats import FrameMeter, describe_device
from neuralstyle.farm.job import RenderJob
from neuralstyle.farm.log import timestamp
from neuralstyle.farm.output_target import open_target
from neuralstyle.farm.plate_channels import engine_input, output_plate
from neuralstyle.farm.preflight import check_mask_size
from neuralstyle.io.plates import Plate

if TYPE_CHECKING:
    from neuralstyle.temporal.window import WindowFrame

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
    out_frame: int = 0  # the frame's number inside a video output (0: a file of its own)
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
        if self.out_frame:
            out["out_frame"] = self.out_frame
        return out


class FrameRenderer:
    """Renders frames of one job in this process (the network stays loaded between frames).

    Call :func:`neuralstyle.farm.environment.prepare` before making one: it imports torch.
    """

    def __init__(self, job: RenderJob, stage: ColourStage | None = None) -> None:
        self.job = job
        self.stage = stage if stage is not None or not job.colour.managed else job.colour.check()
        self.source = open_source(job.input)
        self.target = open_target(job, colour_managed=self.stage is not None)
        self.mask = open_source(job.mask) if job.mask else None
        self.profile = determinism.ensure()
        self.device, self._header = describe_device(job.device, self.profile)
        # The temporal window's frames by frame number: colour, mask and content keys made once
        # per frame (their stylisations and flows are in temporal.frame_cache, by content).
        self._window: OrderedDict[int, WindowFrame] = OrderedDict()
        # Plates read ahead for a window, kept until their own frame renders: read once (a
        # video read backwards would seek to a key frame and decode the whole group again).
        self._ahead: OrderedDict[int, Plate] = OrderedDict()

    def render(self, frame: int, hooks: Hooks | None = None) -> FrameResult:
        """Render ``frame`` (or skip it when its output exists and ``skip_existing`` is set)
        into the target; call it inside ``with renderer.target:`` (:func:`render_frames` does).

        Raises:
            ImageIOError, InputError, ModelError, DeviceError: as the engine and I/O raise them.
        """
        name = self.target.name(frame)  # a frame's own file, or the video it goes into
        result = FrameResult(frame, "done", name, device=self.device, pid=os.getpid())
        if self.job.skip_existing:
            kept, result.note = self.target.kept(frame)
            if kept:
                result.status = "skipped"
                return result
        if hooks is not None:
            hooks.before_frame(frame)
        meter = FrameMeter(self.device)
        plate = self._ahead.pop(frame, None) or self.source.read(frame)
        meter.lap("read")
        params = self.job.keyframes.at(frame)
        with frame_arena.frame():  # the temporal layer's torch buffers too, not only the engine's
            if self.job.temporal:
                styled = self._steady(frame, plate, meter)
            else:
                colour, mask, premultiplied = self._engine_input(frame, plate)
                meter.lap("colour_in")
                styled = _stylize(colour, params, mask, premultiplied, self.job)
                meter.lap("stylise")
        # the engine gives back the channels it was given: RGBA for a plate with alpha
        out = output_plate(plate, styled, self.stage, styled.shape[2] == 4)
        meter.lap("colour_out")

        header = {**self._header, **self._frame_header(frame, params)}
        result.out_frame = self.target.write(
            frame, out, header, meter, _before_rename(frame, hooks)
        )
        result.seconds = meter.total()
        result.stages = meter.laps
        result.peak_mem_mb = meter.peak_mb()
        result.finished = time.time()
        return result

    def _engine_input(self, frame: int, plate: Plate) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """The colour, mask and premultiplication the engine gets for ``frame``."""
        colour, _ = engine_input(plate, self.stage)
        # A colour stage hands the engine straight colour (it unpremultiplies before OCIO).
        return colour, self._mask(frame, plate), plate.premultiplied and self.stage is None

    def _steady(self, frame: int, plate: Plate, meter: FrameMeter) -> np.ndarray:
        """``frame``'s output from the stylisations of its window (temporal/window.py)."""
        from neuralstyle.temporal.frame_cache import frame_cache  # torch: see frame_stats
        from neuralstyle.temporal.window import steadies, steady

        own = self._window_frame(frame, plate)
        meter.lap("colour_in")
        amount = float(self.job.keyframes.at(frame)["temporal_amount"])
        if own.warm is None or not steadies(amount, own.identity):
            # stylised here to time it; made once, even with no cache
            styled = frame_cache().get_or_make(("styled", own.key), own.stylise)
            own = replace(own, stylise=lambda: styled)
        meter.lap("stylise")
        window = [own]
        order = self.job.frames.index
        others = self.job.window(frame)[1:] if steadies(amount, own.identity) else []
        for other in others:
            if other not in self._window:
                self._ahead[other] = self.source.read(other)
                while len(self._ahead) > self._window_size:  # handles never rendered
                    self._ahead.popitem(last=False)
            neighbour = self._window_frame(other, self._ahead.get(other))
            window.append(replace(neighbour, offset=order(other) - order(frame)))
        out = steady(window, radius=self.job.temporal, amount=amount * self._temporal_weight)
        meter.lap("temporal")
        return out

    def _window_frame(self, frame: int, plate: Plate | None) -> WindowFrame:
        """``frame`` as a window frame (offset 0), made once while windows need it."""
        from neuralstyle.temporal import starts_segment
        from neuralstyle.temporal.consolidate import display_for_flow  # torch: see frame_stats
        from neuralstyle.temporal.frame_cache import content_key
        from neuralstyle.temporal.window import WindowFrame

        if frame in self._window:
            self._window.move_to_end(frame)
            return self._window[frame]
        if plate is None:
            plate = self.source.read(frame)
        colour, mask, premultiplied = self._engine_input(frame, plate)
        params = self.job.keyframes.at(frame)
        linear = colour.dtype.kind == "f"
        settings = {
            # the amount mixes after stylisation: a new amount is the same stylisation
            "params": {k: v for k, v in params.items() if k != "temporal_amount"},
            "method": self.job.method,
            "controls": dict(self.job.controls),
            "premultiplied": premultiplied,
            "device": self.job.device,
        }
        plate_key = content_key(colour, settings={"linear": linear})
        # the stylisation's key names the plate's: the pixels are hashed once
        settings["plate"] = plate_key.hex()

        def warm(start: np.ndarray) -> np.ndarray:
            return _stylize(colour, params, mask, premultiplied, self.job, start=start)

        made = WindowFrame(
            offset=0,
            plate=plate_key,
            key=content_key(mask, settings=settings),
            display=lambda: display_for_flow(colour, linear=linear),
            stylise=lambda: _stylize(colour, params, mask, premultiplied, self.job),
            identity=float(params["strength"]) == 0.0,
            warm=warm if self.job.warm_starts else None,
            source=colour,
            chain_start=starts_segment(frame, self.job.previous(frame)),
        )
        self._window[frame] = made
        while len(self._window) > self._window_size:
            self._window.popitem(last=False)
        return made

    @functools.cached_property
    def _temporal_weight(self) -> float:
        """:attr:`Method.temporal_weight` of the job's method (resolved as the engine resolves
        it; styles do not animate, so the first frame's style decides)."""
        from neuralstyle.engine.methods import method_for
        from neuralstyle.engine.request import default_method

        style = self.job.keyframes.at(self.job.frames[0])["style"]
        return method_for(self.job.method or default_method(str(style))).temporal_weight

    @property
    def _window_size(self) -> int:
        """Frames a window reads: the frame, K either side, the warm starts' lead, and one."""
        from neuralstyle.temporal import WARM_SEGMENT

        lead = WARM_SEGMENT - 1 if self.job.warm_starts else 0
        return 2 * self.job.temporal + lead + 2

    def _mask(self, frame: int, plate: Plate) -> np.ndarray | None:
        if self.mask is None:
            return None
        mask = self.mask.read(frame, "mask").pixels[..., -1:]
        check_mask_size(self.mask.file(frame), mask.shape, plate.pixels.shape)
        return np.ascontiguousarray(mask)

    def _frame_header(self, frame: int, params: dict[str, float | str]) -> dict[str, Any]:
        settings: dict[str, Any] = {**params, "method": self.job.method or "auto"}
        if self.job.temporal:
            settings["temporal"] = self.job.temporal
        else:  # the amount means nothing without a window
            settings.pop("temporal_amount", None)
        header: dict[str, Any] = {
            "neuralstyle:frame": int(frame),
            "neuralstyle:params": json.dumps({**settings, **self.job.controls}, sort_keys=True),
        }
        if self.stage is not None:
            header.update(self.stage.describe())
            header["oiio:ColorSpace"] = self.stage.inverse.target.name
        return header


def _before_rename(frame: int, hooks: Hooks | None) -> Callable[[Path], object] | None:
    """The test hook called with a frame's complete temporary file, if there are hooks."""
    if hooks is None:
        return None
    return lambda tmp: hooks.before_rename(frame, tmp)


def _stylize(
    colour: np.ndarray,
    params: dict[str, float | str],
    mask: np.ndarray | None,
    premultiplied: bool,
    job: RenderJob,
    *,
    start: np.ndarray | None = None,
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
        start=start,
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

    The one frame loop of a process, local or a Dask worker's. The renderer's target is open
    around the frames: a video file gets its name after the last one, and a failure (or a stop)
    leaves none.

    Args:
        on_frame: called with each :class:`FrameResult` as it completes (the log, the task).
        on_failure: called with the frame and the error before it propagates.
    """
    results = []
    with renderer.target:
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
