"""A shot's render settings as plain data (:class:`RenderJob`: it travels to Dask workers by
pickle), and where each frame goes.

:mod:`neuralstyle.farm.preflight` checks a job before its first frame;
:mod:`neuralstyle.farm.frame_renderer` renders its frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from neuralstyle.farm.colour_stage import ColourSettings
from neuralstyle.farm.keyframes import Keyframes
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.plates import (
    WriteOptions,
)
from neuralstyle.io.video import Codec

__all__ = ["RenderJob", "output_paths", "with_handles"]


@dataclass(frozen=True)
class RenderJob:
    """One shot's render settings.

    Attributes:
        input: the plate sequence (``plate.####.exr``), a still image or a video file.
        output: the output sequence, or a video file (``.mp4``, ``.mov``, ...): the whole shot
            in one file.
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
        temporal: frames either side whose stylisations steady each frame
            (:mod:`neuralstyle.temporal.consolidate`); 0 renders every frame on its own. How
            much of the consolidated picture replaces each frame's own is keyed:
            ``keyframes.at(frame)["temporal_amount"]``.
        rate: a video output's frames per second (the command gives it the input video's).
        codec: a video output's codec, ``h264`` or ``prores``.
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
    temporal: int = 0
    rate: Fraction = Fraction(24)
    codec: Codec = "h264"

    def window(self, frame: int) -> list[int]:
        """The shot's frames whose stylisations make ``frame`` (itself first): up to
        ``temporal`` either side, by position in the shot, never past its ends, and for the
        optimisation's warm starts the frames back to the segment start of the first of them
        (:data:`neuralstyle.temporal.WARM_SEGMENT`, aligned to frame numbers). The window is
        the shot's, not the chunk's, so a frame comes out the same in every chunking."""
        from neuralstyle.temporal import starts_segment

        if self.temporal == 0:
            return [frame]
        at = self.frames.index(frame)
        low, high = max(0, at - self.temporal), min(len(self.frames), at + self.temporal + 1)
        if self.warm_starts:
            while low > 0 and not starts_segment(self.frames[low], self.frames[low - 1]):
                low -= 1
        return [frame, *(f for f in self.frames[low:high] if f != frame)]

    @property
    def warm_starts(self) -> bool:
        """Temporal stability starts each frame's optimisation from the frame before it."""
        return self.temporal > 0 and self.method == "optimize"

    def previous(self, frame: int) -> int | None:
        """The shot's frame before ``frame`` (None for its first)."""
        at = self.frames.index(frame)
        return self.frames[at - 1] if at > 0 else None


def with_handles(job: RenderJob, frames: list[int]) -> list[int]:
    """``frames`` and the handle frames their temporal windows read, in shot order."""
    needed = {f for frame in frames for f in job.window(frame)}
    return [f for f in job.frames if f in needed]


def output_paths(job: RenderJob, frames: list[int]) -> list[Path]:
    """The output file of each frame."""
    sequence = Sequence.parse(job.output)
    return [sequence.path(f) for f in frames]
