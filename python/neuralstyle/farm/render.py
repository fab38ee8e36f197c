"""The farm render loop: for each frame read the plate, manage colour, stylise, write atomically,
verify, log.

A :class:`RenderJob` is plain data (it travels to Dask workers by pickle). :func:`preflight`
checks everything that can be checked before the first frame, so a bad range, a missing or
corrupt input frame (pixels decoded, not only headers), an unknown colour space, an output that
would overwrite an input or an unwritable output fails at once with nothing written.
:class:`FrameRenderer` renders frames in one process; the network loads once per process
(:mod:`neuralstyle.methods.builtin` keeps it) and stays loaded across frames and chunks.

Stylisation is :func:`neuralstyle.stylize`, the node's own render, with the parameters the node
would have at that frame (:mod:`neuralstyle.farm.keyframes`), so a farm frame equals the node's.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuralstyle import __version__
from neuralstyle.api import stylize
from neuralstyle.engine import determinism
from neuralstyle.engine.request import StyleImage, StyleRequest
from neuralstyle.errors import ImageIOError, InputError, NeuralStyleError
from neuralstyle.farm.colour import ColourSettings, ColourStage
from neuralstyle.farm.frames import format_frames
from neuralstyle.farm.keyframes import Keyframes
from neuralstyle.farm.log import timestamp
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.atomic import remove_stale_temps
from neuralstyle.io.paths import check_no_overwrite, make_output_folders
from neuralstyle.io.plates import (
    Plate,
    WriteOptions,
    encoded_for_verify,
    is_lossy,
    read_plate,
    verify_plate,
    write_plate,
)

__all__ = ["FrameRenderer", "Hooks", "RenderJob", "output_paths", "preflight", "render_frames"]


@dataclass(frozen=True)
class RenderJob:
    """One shot's render settings.

    Attributes:
        input: the plate sequence (``plate.####.exr``) or a still image.
        output: the output sequence.
        frames: the shot's frames (keyframes and ``--chunk`` refer to these).
        keyframes: the node's parameters over time.
        colour: OCIO settings (none: the node's own colour handling).
        write: output depth, compression, quality.
        mask: a mask sequence (its last channel; 0 keeps the source), or None.
        keys: the keyframe file ``keyframes`` was read from, or None (no output may replace it).
        device: ``auto``, ``cpu`` or ``cuda``.
        skip_existing: leave frames whose output exists (and verifies, with ``verify``).
        verify: read every written frame back and compare it with what was written.
        method: ``builtin``, ``adain`` or ``optimize`` (None: from the style, as the API).
        controls: the method's settings that do not animate, as :func:`neuralstyle.stylize`
            takes them (``preserve_colour``, ``mask_mode``, ``seed``, ``init``, ``quality``,
            ``style_weight``, ``steps``).
    """

    input: str
    output: str
    frames: tuple[int, ...]
    keyframes: Keyframes
    colour: ColourSettings = field(default_factory=ColourSettings)
    write: WriteOptions = field(default_factory=WriteOptions)
    mask: str | None = None
    keys: str | None = None
    device: str = "auto"
    skip_existing: bool = False
    verify: bool = False
    method: str | None = None
    controls: Mapping[str, Any] = field(default_factory=dict)


class Hooks(Protocol):
    """Test hooks around a frame (:mod:`neuralstyle.testing.faults`); never set in production."""

    def before_frame(self, frame: int) -> None: ...

    def before_rename(self, frame: int, tmp: Path) -> None: ...


def output_paths(job: RenderJob, frames: list[int]) -> list[Path]:
    """The output file of each frame."""
    sequence = Sequence.parse(job.output)
    return [sequence.path(f) for f in frames]


def preflight(job: RenderJob, frames: list[int]) -> ColourStage | None:
    """Check ``frames`` of ``job`` before rendering any; make the output folder.

    Every input and mask frame of ``frames`` is decoded in full (not only its header), and so is
    every style file the keys name: a truncated or corrupt file fails here, before the first
    frame is written. No output of ``frames`` may be a file the shot reads (any input or mask
    frame of the shot, a style file, the keyframe file), compared as files, not as path text.

    Raises:
        InputError: bad patterns, options, parameters or colour spaces; an output that would
            overwrite an input; a mask whose size is not the plate's.
        ImageIOError: missing, truncated or corrupt input, mask or style files; an unwritable
            output folder.
    """
    source = Sequence.parse(job.input)
    target = Sequence.parse(job.output)
    if target.is_still and len(job.frames) > 1:
        raise InputError(
            f"the output {job.output!r} has no frame token (####, %04d or @) "
            f"but {len(job.frames)} frames are rendered"
        )
    job.write.check(target.path(frames[0] if frames else 0))
    styles = _check_params(job)
    stage = job.colour.check()
    outputs = output_paths(job, frames)
    check_no_overwrite(outputs, _files_read(job, styles))
    _check_present(source, frames, "input")
    if job.mask is not None:
        _check_present(Sequence.parse(job.mask), frames, "mask")
    for style in styles:
        style.pixels()
    _decode_inputs(job, frames)
    make_output_folders(dict.fromkeys(p.parent for p in outputs))
    return stage


def _check_params(job: RenderJob) -> list[StyleImage]:
    """Every key's value, as the node's parameter checks see it (styles and files resolved);
    returns the style files the keys name."""
    styles: dict[StyleImage, None] = {}
    base = {name: curve.keys[0][1] for name, curve in job.keyframes.curves.items()}
    for name, curve in job.keyframes.curves.items():
        for _, value in curve.keys:
            values = {**base, name: value}
            request = StyleRequest.create(
                values["style"],
                values["second_style"] or None,
                float(values["style_blend"]),
                float(values["strength"]),
                method=job.method,
                stroke_scale=float(values["stroke_scale"]),
                **job.controls,
            )
            for style in (request.style, request.second_style):
                if isinstance(style, StyleImage):
                    styles[style] = None
    return list(styles)


def _files_read(job: RenderJob, styles: list[StyleImage]) -> list[tuple[str, Path]]:
    """``(what, path)`` of every file the shot reads; frames of the whole shot, not only this
    chunk, since another chunk's inputs must survive this one's outputs."""
    source = Sequence.parse(job.input)
    files = [("the input", source.path(f)) for f in job.frames]
    if job.mask is not None:
        mask = Sequence.parse(job.mask)
        files += [("the mask", mask.path(f)) for f in job.frames]
    files += [("the style image", Path(style.label)) for style in styles]
    if job.keys is not None:
        files.append(("the keyframe file", Path(job.keys)))
    return files


def _check_present(sequence: Sequence, frames: list[int], what: str) -> None:
    paths = {f: sequence.path(f) for f in frames}
    missing = [f for f, p in paths.items() if not p.is_file()]
    if missing:
        raise ImageIOError(
            f"missing {what} frame{'s' if len(missing) > 1 else ''} {format_frames(missing)} "
            f"of {sequence.pattern} (e.g. {paths[missing[0]]})"
        )


def _decode_inputs(job: RenderJob, frames: list[int]) -> None:
    """Decode every input and mask frame of ``frames`` (a still once), one at a time.

    Headers alone miss a frame cut short or damaged inside its pixel data; decoding finds what
    the format can detect (a cut file, a broken compressed chunk, a PNG CRC, a bad JPEG code),
    never a flipped bit in raw, uncompressed pixels.
    """
    source = Sequence.parse(job.input)
    mask = Sequence.parse(job.mask) if job.mask is not None else None
    sizes: dict[Path, tuple[int, int]] = {}
    for frame in frames:
        plate = _decoded_size(sizes, source.path(frame), "")
        if mask is not None:
            path = mask.path(frame)
            _check_mask_size(path, _decoded_size(sizes, path, "mask"), plate)


def _decoded_size(sizes: dict[Path, tuple[int, int]], path: Path, what: str) -> tuple[int, int]:
    if path not in sizes:
        height, width = read_plate(path, what).pixels.shape[:2]
        sizes[path] = (height, width)
    return sizes[path]


def _check_mask_size(path: Path, mask: tuple[int, ...], plate: tuple[int, ...]) -> None:
    """Raise InputError when the mask ``path`` of size ``mask`` (height, width) is not the
    plate's."""
    if mask[:2] != plate[:2]:
        raise InputError(
            f"the mask {path} is {mask[1]}x{mask[0]} but the plate is {plate[1]}x{plate[0]}"
        )


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
        _check_mask_size(path, mask.shape, plate.pixels.shape)
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
