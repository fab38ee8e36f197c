"""Where a render's frames go (:func:`open_target`): an image sequence, one file per frame, or one
video file that holds the whole shot. :class:`~neuralstyle.farm.frame_renderer.FrameRenderer`
hands each finished frame to its target and never asks which it is; the frame loop
(:func:`~neuralstyle.farm.frame_renderer.render_frames`) holds the target open around the frames.

A sequence's frames stand alone: each file is written atomically, may be kept when it exists
(``skip_existing``), is verified on its own, and can come from any chunk or Dask worker. A video
is one file written in order by one process: frames go into a
:class:`~neuralstyle.io.video.VideoWriter` as 8-bit display RGB
(:func:`~neuralstyle.io.plates.display_rgb8`), and the file gets its name only after the last
frame (and, with ``verify``, once it decodes back whole); a failure anywhere leaves no file. The
preflight refuses what a video cannot do (:func:`neuralstyle.farm.preflight.video_refusal`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np

from neuralstyle.errors import ImageIOError
from neuralstyle.farm.frame_stats import FrameMeter
from neuralstyle.farm.job import RenderJob
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.atomic import remove_stale_temps
from neuralstyle.io.plates import (
    Plate,
    display_rgb8,
    encoded_for_verify,
    is_lossy,
    verify_plate,
    write_plate,
)
from neuralstyle.io.video import VideoReader, VideoWriter, is_video

__all__ = ["OutputTarget", "SequenceTarget", "VideoTarget", "open_target"]

# --verify of a video compares each decoded frame's 16x16 block means with the encoded frame's:
# a lossy codec keeps those within a few levels, a lost, repeated or black frame does not.
_BLOCK = 16
_VERIFY_LEVELS = 8.0


class OutputTarget(Protocol):
    """What :class:`~neuralstyle.farm.frame_renderer.FrameRenderer` writes frames to."""

    def name(self, frame: int) -> str:
        """The file ``frame`` goes to (its log line's ``out``)."""
        ...

    def kept(self, frame: int) -> tuple[bool, str]:
        """Whether ``frame``'s existing output stays (``skip_existing``); else a log note on
        why an existing one is rendered again (empty when there is none)."""
        ...

    def write(
        self,
        frame: int,
        out: Plate,
        header: Mapping[str, Any],
        meter: FrameMeter,
        before_rename: Callable[[Path], object] | None = None,
    ) -> int:
        """Write ``frame`` (laps ``write``, and ``verify`` where it verifies); return its number
        inside the output file, 0 for a file of its own."""
        ...

    def __enter__(self) -> OutputTarget: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None: ...


def open_target(job: RenderJob, colour_managed: bool) -> OutputTarget:
    """The target of ``job.output``: a video file by its extension, else an image sequence.

    Args:
        colour_managed: OCIO has encoded the frames for their output space (quantise only).
    """
    if is_video(job.output):
        return VideoTarget(job, colour_managed)
    return SequenceTarget(job, colour_managed)


class SequenceTarget:
    """One file per frame (a still: one file), each written atomically and verified alone."""

    def __init__(self, job: RenderJob, colour_managed: bool) -> None:
        self.job = job
        self.colour_managed = colour_managed
        self.sequence = Sequence.parse(job.output)

    def name(self, frame: int) -> str:
        return str(self.sequence.path(frame))

    def kept(self, frame: int) -> tuple[bool, str]:
        path = self.sequence.path(frame)
        if not path.is_file():
            return False, ""
        reason = self._existing_is_bad(path)
        return (True, "") if reason is None else (False, f"re-rendered:{reason}")

    def write(
        self,
        frame: int,
        out: Plate,
        header: Mapping[str, Any],
        meter: FrameMeter,
        before_rename: Callable[[Path], object] | None = None,
    ) -> int:
        path = self.sequence.path(frame)
        remove_stale_temps([path])  # a killed process's temporary file of this frame
        write_plate(
            path,
            out,
            self.job.write,
            attributes=header,
            colour_managed=self.colour_managed,
            before_rename=before_rename,
        )
        meter.lap("write")
        if self.job.verify:
            self._verify(path, out)
            meter.lap("verify")
        return 0

    def _existing_is_bad(self, path: Path) -> str | None:
        """None when an existing output can stay; else why it must be rendered again."""
        if not self.job.verify:
            return None if path.stat().st_size > 0 else "empty"
        try:
            verify_plate(path)
        except ImageIOError:
            return "failed-verify"
        return None

    def _verify(self, path: Path, out: Plate) -> None:
        """Read ``path`` back and compare it with ``out`` as the file stores it."""
        expected, tolerance = encoded_for_verify(path, out, self.job.write, self.colour_managed)
        verify_plate(
            path,
            expected,
            shape=out.pixels.shape[:2],
            lossy=is_lossy(path, self.job.write),
            tolerance=tolerance,
        )

    def __enter__(self) -> SequenceTarget:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass  # every frame is complete on disk as soon as it is written


class VideoTarget:
    """The shot's frames, in the order they come, in one video file that appears only whole."""

    def __init__(self, job: RenderJob, colour_managed: bool) -> None:
        self.path = Path(job.output)
        self.colour_managed = colour_managed
        self.count = 0
        self._size: tuple[int, int] = (0, 0)
        # what --verify compares the decoded file with: small, so a long shot fits in memory
        self._expected: list[np.ndarray] | None = [] if job.verify else None
        check = self._verify if job.verify else None
        self._writer = VideoWriter(self.path, job.rate, job.codec, before_rename=check)
        remove_stale_temps([self.path])  # what a killed render of this video left

    def name(self, frame: int) -> str:
        return str(self.path)

    def kept(self, frame: int) -> tuple[bool, str]:
        return False, ""  # a video is written whole (the preflight refuses skip_existing)

    def write(
        self,
        frame: int,
        out: Plate,
        header: Mapping[str, Any],
        meter: FrameMeter,
        before_rename: Callable[[Path], object] | None = None,
    ) -> int:
        # The header's per-frame values have no place in a movie: the frame's log line has them.
        rgb = display_rgb8(out, colour_managed=self.colour_managed)
        self._writer.write(rgb)
        self._size = (rgb.shape[0], rgb.shape[1])
        if self._expected is not None:
            self._expected.append(_block_means(rgb))
        self.count += 1
        meter.lap("write")
        return self.count

    def _verify(self, finished: Path) -> None:
        """Decode the finished file in full before it gets its name: every frame there, in
        order, the size written, each picture within the codec's loss of what was encoded."""
        expected = self._expected or []
        failure = f"verify failed for {self.path}"
        with VideoReader(finished) as reader:
            if reader.count != len(expected):
                raise ImageIOError(f"{failure}: {reader.count} frames, {len(expected)} written")
            if reader.size != self._size:
                raise ImageIOError(f"{failure}: its frames are not the size written")
            for number, want in zip(reader.frames, expected, strict=True):
                difference = float(np.abs(_block_means(reader.read(number)) - want).mean())
                if difference > _VERIFY_LEVELS:
                    raise ImageIOError(
                        f"{failure}: frame {number} differs from what was written by "
                        f"{difference:.1f} levels"
                    )

    def __enter__(self) -> VideoTarget:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        # finished: the file gets its name; failed or stopped: nothing is left
        self._writer.__exit__(kind, error, trace)


def _block_means(rgb: np.ndarray) -> np.ndarray:
    """The means of ``_BLOCK``-pixel squares (the whole frame when it is smaller)."""
    h, w = rgb.shape[0] // _BLOCK * _BLOCK, rgb.shape[1] // _BLOCK * _BLOCK
    if not h or not w:
        whole: np.ndarray = rgb.astype(np.float32).mean(axis=(0, 1))
        return whole
    blocks = rgb[:h, :w].astype(np.float32).reshape(h // _BLOCK, _BLOCK, w // _BLOCK, _BLOCK, 3)
    means: np.ndarray = blocks.mean(axis=(1, 3)).astype(np.float16)
    return means
