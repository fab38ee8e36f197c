"""``neuralstyle stylize clip.mp4 -o OUT``: every frame of a video file, each on its own (the
same render as an image of that frame), to a video file or an image sequence.

OUT is a video file (``.mp4``/``.mkv``/``.m4v`` H.264, ``.mov`` H.264 or ProRes with
``--codec prores``; the input's frame rate; BT.709 tags) or an image sequence pattern
(``out.####.png``, frames numbered from 1). A video appears under its name only once whole; each
frame of a sequence is written atomically, so a failure leaves the frames before it. Temporal
stability needs a window of neighbours: that is ``neuralstyle render`` (which reads video files
too).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neuralstyle.errors import InputError
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.images import check_format, write_image
from neuralstyle.io.paths import check_no_overwrite, make_output_folders
from neuralstyle.io.video import Codec, VideoReader, VideoWriter, check_video_target, is_video

__all__ = ["stylize_video"]


def stylize_video(
    source: Path,
    target: Path,
    render: Callable[[np.ndarray], np.ndarray],
    *,
    codec: Codec | None,
    read_files: list[tuple[str, Path]],
    check: Callable[[tuple[int, int]], None],
    log: Callable[[dict[str, Any]], None],
) -> None:
    """Render every frame of ``source`` with ``render`` (uint8 RGB in and out) into ``target``;
    ``check`` sees the frame size ``(H, W)`` before anything is written, ``log`` the summary.

    Raises:
        InputError: ``target`` is neither a video file nor a sequence pattern, ``--codec`` with
            an image sequence, or ``target`` would overwrite a file the render reads.
        ImageIOError: the video cannot be read or the output written.
    """
    to_video = is_video(target)
    if to_video:  # before anything is read or made
        check_video_target(target, codec or "h264")
    else:
        sequence = Sequence.parse(target)
        if sequence.is_still:
            raise InputError(
                f"{target} is one image; a video goes to a video file (.mp4, .mov, .mkv) or an "
                "image sequence (out.####.png)"
            )
        if codec is not None:
            raise InputError("--codec is for video outputs, not image sequences")
    start = time.perf_counter()
    with VideoReader(source) as reader:
        outputs = [target] if to_video else [sequence.path(f) for f in reader.frames]
        check_no_overwrite(outputs, read_files)
        check(reader.size)
        if not to_video:
            check_format(outputs[0], 3)
        make_output_folders(dict.fromkeys(p.parent for p in outputs))
        frames = tqdm(reader.frames, desc=source.name, unit="frame", disable=None, file=sys.stderr)
        if to_video:
            with VideoWriter(target, reader.rate, codec or "h264") as writer:
                for frame in frames:
                    writer.write(render(reader.read(frame)))
        else:
            for frame, path in zip(frames, outputs, strict=True):
                write_image(path, render(reader.read(frame)))
        log(
            {
                "in": source,
                "out": target,
                "size": f"{reader.size[1]}x{reader.size[0]}",
                "frames": reader.count,
                "seconds": f"{time.perf_counter() - start:.2f}",
            }
        )
