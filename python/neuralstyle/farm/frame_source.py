"""Where a shot's frames come from: an image sequence (``plate.####.exr``, or one still for every
frame) or a video file (``plate.mp4``, frames numbered from 1). The renderer and the preflight
read frames by number through :func:`open_source` and never ask which it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.plates import Plate, read_plate
from neuralstyle.io.video import VideoReader, is_video

__all__ = ["FrameSource", "SequenceSource", "VideoSource", "open_source"]


class SequenceSource:
    """Frames from an image sequence, one file per frame (a still: the same file for all)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.sequence = Sequence.parse(pattern)

    def read(self, frame: int, what: str = "") -> Plate:
        """Every channel of ``frame``, decoded in full.

        Raises:
            ImageIOError: missing, truncated or corrupt.
        """
        return read_plate(self.sequence.path(frame), what)

    def file(self, frame: int) -> Path:
        """The file ``frame`` is read from."""
        return self.sequence.path(frame)

    def key(self, frame: int) -> object:
        """Equal for frames with the same pixels (a still's frames): what to decode once."""
        return self.sequence.path(frame)

    def missing(self, frames: list[int]) -> list[int]:
        """Those of ``frames`` that are not there."""
        return [f for f in frames if not self.sequence.path(f).is_file()]

    def available(self) -> list[int]:
        """The frames on disk, ascending (a still image has none: it has no range)."""
        return self.sequence.frames_on_disk()


class VideoSource:
    """Frames from a video file, numbered from 1 in presentation order (display-referred 8-bit
    RGB, :mod:`neuralstyle.io.video`). The file is opened on first use and stays open: reading
    frames in order decodes each once."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._reader: VideoReader | None = None

    @property
    def reader(self) -> VideoReader:
        if self._reader is None:
            self._reader = VideoReader(self.pattern)
        return self._reader

    def read(self, frame: int, what: str = "") -> Plate:
        """``frame`` as an RGB plate.

        Raises:
            ImageIOError: the file is missing or damaged.
            InputError: the file has no such frame.
        """
        pixels = self.reader.read(frame)
        return Plate(np.ascontiguousarray(pixels), ("R", "G", "B"), 3, False, {}, ("uint8",) * 3)

    def file(self, frame: int) -> Path:
        return Path(self.pattern)

    def key(self, frame: int) -> object:
        return frame

    def missing(self, frames: list[int]) -> list[int]:
        """Those of ``frames`` the file does not have.

        Raises:
            ImageIOError: the file is missing or not a video.
        """
        have = self.reader.frames
        return [f for f in frames if f not in have]

    def available(self) -> list[int]:
        return list(self.reader.frames)


FrameSource = SequenceSource | VideoSource


def open_source(pattern: str) -> FrameSource:
    """The frames ``pattern`` names: a video file by its extension, else an image sequence.

    Raises:
        InputError: a bad sequence pattern.
    """
    return VideoSource(pattern) if is_video(pattern) else SequenceSource(pattern)
