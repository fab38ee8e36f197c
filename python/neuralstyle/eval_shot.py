"""``neuralstyle eval-shot``: how steady a stylised shot is, frame by frame.

    neuralstyle eval-shot SOURCES RESULT [--compare OTHER] [--frames RANGE]
                          [-o shot.html|shot.png] [--json]

SOURCES, RESULT and OTHER are image sequences (``plate.####.exr``) or video files (frames
numbered from 1), read by frame number (:func:`neuralstyle.farm.frame_source.open_source`) and
made display-referred as ``neuralstyle eval`` makes its images (:func:`metrics.display_rgb`).
Each pair of frames gets the sources' flow once (:func:`metrics.source_motion`), and every shot
is measured against it: the warping error (Lai et al. 2018), the sources' own as the floor the
flow leaves, and the sharpness of each result. Two frames of each shot are held at a time, plus
the report's thumbnails: a long 2K shot fits in memory.

A command of its own rather than ``eval --shot``: its inputs are shots, not a content, a style
and a result, and ``--compare`` and ``--frames`` mean nothing for one image.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.farm.frame_ranges import format_frames, parse_frames
from neuralstyle.farm.frame_source import FrameSource, SequenceSource, open_source
from neuralstyle.io.paths import check_no_overwrite

if TYPE_CHECKING:
    from neuralstyle.metrics import Motion
    from neuralstyle.report import ShotRow

__all__ = ["Shot", "add_eval_shot_parser", "evaluate_shot"]

_SHEET_FRAMES = 6  # rows of the report's contact sheet


@dataclass(frozen=True)
class Shot:
    """One input: ``"sources"``, ``"result"`` or ``"compare"``, its pattern and its frames."""

    name: str
    pattern: str
    source: FrameSource

    @classmethod
    def open(cls, name: str, pattern: str) -> Shot:
        """Raises: InputError: a bad pattern, or one image rather than a shot."""
        source = open_source(pattern)
        if isinstance(source, SequenceSource) and source.sequence.is_still:
            raise InputError(
                f"the {name} {pattern} is one image, not a shot: give an image sequence "
                "(name.####.png) or a video"
            )
        return cls(name, pattern, source)

    def read(self, frame: int, size: tuple[int, int] | None) -> np.ndarray:
        """``frame`` as display-referred float RGB; of ``size`` (H, W), when given."""
        from neuralstyle.metrics import display_rgb  # torch: not before a command needs it

        plate = self.source.read(frame, f"the {self.name}")
        image = display_rgb(plate.pixels[..., : plate.colour], plate.premultiplied)
        if size is not None and image.shape[:2] != size:
            raise InputError(
                f"frame {frame} of the {self.name} {self.pattern} is "
                f"{image.shape[1]}x{image.shape[0]} but the sources are {size[1]}x{size[0]}"
            )
        return image


def add_eval_shot_parser(commands: Any) -> None:
    """Add the ``eval-shot`` command to ``commands`` (an ``add_subparsers()`` result)."""
    parser = commands.add_parser(
        "eval-shot",
        help="temporal stability of a stylised shot (warping error, sharpness)",
        description="How much a stylised shot flickers against its sources' motion.",
    )
    add = parser.add_argument
    add("sources", metavar="SOURCES", help="the shot before stylisation: plate.####.exr or .mp4")
    add("result", metavar="RESULT", help="the stylised shot, the same frames")
    add("--compare", metavar="OTHER", help="another stylisation, e.g. the per-frame render")
    add("--frames", metavar="RANGE", help="1001-1100, 1-10x2, ... (default: every frame)")
    add("-o", "--output", type=Path, metavar="REPORT", help="a .html or .png report")
    add("--json", action="store_true", help="print the numbers, per frame too, as JSON")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from neuralstyle import report  # torch: see neuralstyle.cli's imports

    named = [("sources", args.sources), ("result", args.result), ("compare", args.compare)]
    shots = [Shot.open(name, pattern) for name, pattern in named if pattern is not None]
    frames = _frames(shots, args.frames)
    if args.output is not None:
        report.check_report_path(args.output)
        reads = [(f"the {s.name}", s.source.file(f)) for s in shots for f in frames]
        check_no_overwrite([args.output], list(dict.fromkeys(reads)))
    numbers, rows = evaluate_shot(shots, frames, sheet=args.output is not None)
    lines = _summary(numbers)
    if args.output is not None:
        errors = {s.name: numbers[s.name]["warping_errors"] for s in [*shots[1:], shots[0]]}
        report.write_shot_report(args.output, frames, errors, rows, lines)
    print(json.dumps(numbers) if args.json else "\n".join(lines))
    return 0


def _frames(shots: Sequence[Shot], text: str | None) -> list[int]:
    """The frames to measure: ``--frames``, else every frame of the sources, which every other
    shot must have too (a partial render is measured with ``--frames``)."""
    sources = shots[0]
    frames = parse_frames(text) if text else sources.source.available()
    if not frames:
        raise ImageIOError(f"cannot read the sources {sources.pattern}: no frames on disk")
    for shot in shots[1:] if not text else ():
        have = shot.source.available()
        if not have:
            raise ImageIOError(f"cannot read the {shot.name} {shot.pattern}: no frames on disk")
        if have != frames:
            raise InputError(
                f"the {shot.name} {shot.pattern} has {len(have)} frames ({format_frames(have)}) "
                f"but the sources have {len(frames)} ({format_frames(frames)}); give --frames "
                "to measure the frames they share"
            )
    if len(frames) < 2:
        raise InputError(f"a shot needs at least 2 frames to measure, got {len(frames)}")
    for shot in shots:
        missing = shot.source.missing(frames)
        if missing:
            raise ImageIOError(
                f"cannot read the {shot.name} {shot.pattern}: no frame {format_frames(missing)}"
            )
    return frames


def evaluate_shot(
    shots: Sequence[Shot], frames: Sequence[int], *, sheet: bool = False
) -> tuple[dict[str, Any], list[ShotRow]]:
    """The numbers of ``shots`` (the sources first) over ``frames``, as ``--json`` prints them;
    with ``sheet``, the report's contact sheet rows too.

    Numbers: ``frames``; per shot (by name) its ``pattern``, ``warping_error`` (the mean) and
    ``warping_errors`` (:math:`E_t` per pair, at the first frame of each), and for the results
    their mean ``sharpness``; with a ``compare`` shot, ``ratio``: result over compare of both.

    Raises:
        InputError, ImageIOError: unreadable frames or frames of another size.
    """
    from neuralstyle import metrics

    keep = set(_sheet_pairs(len(frames) - 1)) if sheet else set()
    errors: dict[str, list[float]] = {s.name: [] for s in shots}
    sharpness: dict[str, list[float]] = {s.name: [] for s in shots[1:]}
    rows: list[ShotRow] = []
    previous: list[np.ndarray] = []
    size = None  # the sources' (H, W), from their first frame: every frame must have it
    for index, frame in enumerate(frames):
        source = shots[0].read(frame, size)
        size = (source.shape[0], source.shape[1])
        current = [source, *(shot.read(frame, size) for shot in shots[1:])]
        for shot, image in zip(shots[1:], current[1:], strict=True):
            sharpness[shot.name].append(metrics.sharpness(image))
        if previous:
            motion = metrics.source_motion(previous[0], current[0])
            for shot, before, now in zip(shots, previous, current, strict=True):
                errors[shot.name].append(metrics.pair_warping_error(before, now, motion))
            if index - 1 in keep:
                rows.append(_sheet_row(frames[index - 1], shots, previous, current, motion))
        previous = current
    return _numbers(shots, frames, errors, sharpness), rows


def _sheet_row(
    frame: int,
    shots: Sequence[Shot],
    images: Sequence[np.ndarray],
    following: Sequence[np.ndarray],
    motion: Motion,
) -> ShotRow:
    """The contact sheet's row of ``frame``: thumbnails of its ``images`` (one per shot) and each
    result's warping residual against the ``following`` frame."""
    from neuralstyle import metrics, report

    names = [shot.name for shot in shots[1:]]
    results = {name: report.thumbnail(image) for name, image in zip(names, images[1:], strict=True)}
    residuals = [
        metrics.warping_residual(a, b, motion)
        for a, b in zip(images[1:], following[1:], strict=True)
    ]
    differences = {name: report.difference(r) for name, r in zip(names, residuals, strict=True)}
    return report.ShotRow(frame, report.thumbnail(images[0]), results, differences)


def _sheet_pairs(pairs: int) -> list[int]:
    """Up to six pairs for the contact sheet, spread evenly from the first to the last."""
    return sorted({round(i) for i in np.linspace(0, pairs - 1, min(_SHEET_FRAMES, pairs))})


def _numbers(
    shots: Sequence[Shot],
    frames: Sequence[int],
    errors: dict[str, list[float]],
    sharpness: dict[str, list[float]],
) -> dict[str, Any]:
    numbers: dict[str, Any] = {"frames": list(frames)}
    for shot in shots:
        entry = {"pattern": shot.pattern, "warping_error": statistics.fmean(errors[shot.name])}
        if shot.name in sharpness:
            entry["sharpness"] = statistics.fmean(sharpness[shot.name])
        numbers[shot.name] = {**entry, "warping_errors": errors[shot.name]}
    if "compare" in numbers:
        result, other = numbers["result"], numbers["compare"]
        numbers["ratio"] = {
            key: result[key] / other[key] if other[key] else None
            for key in ("warping_error", "sharpness")
        }
    return numbers


def _summary(numbers: dict[str, Any]) -> list[str]:
    """The numbers as the command prints them (and the report shows them)."""
    frames = numbers["frames"]
    lines = [f"frames {format_frames(frames)}: {len(frames) - 1} pairs"]
    for name in ("sources", "result", "compare"):
        if name in numbers:
            entry = numbers[name]
            sharp = f"{entry['sharpness']:.4f}" if "sharpness" in entry else "-     "
            line = f"{name:<8} warping error {entry['warping_error']:.6f}  sharpness {sharp}"
            lines.append(f"{line}  {entry['pattern']}")
    if "ratio" in numbers:
        ratio = {k: "-" if v is None else f"{v:.3g}" for k, v in numbers["ratio"].items()}
        lines.append(
            f"result / compare: warping error {ratio['warping_error']} (below 1: steadier), "
            f"sharpness {ratio['sharpness']} (near 1: as sharp)"
        )
    lines.append(
        "warping error (Lai et al. 2018): lower is steadier; the sources' own is the floor "
        "the flow leaves. sharpness: mean luma gradient"
    )
    return lines
