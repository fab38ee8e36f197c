"""Everything that can be checked before a shot's first frame, so a bad range, a missing or corrupt
input frame (pixels decoded, not only headers), an unknown colour space, an output that would
overwrite a file the shot reads, an unwritable output or what a video output cannot do (chunks,
skipping frames, frames of several sizes) fails at once with nothing written.
"""

from __future__ import annotations

from pathlib import Path

from neuralstyle.engine.request import StyleRequest
from neuralstyle.engine.style_source import StyleImage
from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.farm.colour_stage import ColourStage
from neuralstyle.farm.frame_ranges import format_frames
from neuralstyle.farm.frame_source import FrameSource, open_source
from neuralstyle.farm.job import RenderJob, output_paths, with_handles
from neuralstyle.farm.sequences import Sequence
from neuralstyle.io.paths import check_no_overwrite, make_output_folders
from neuralstyle.io.video import check_video_target, is_video

__all__ = ["check_mask_size", "preflight", "video_refusal"]

# Decoded frame sizes (H, W) by (what, source key): what is "" for the input, "mask" for a mask.
_Sizes = dict[tuple[str, object], tuple[int, int]]


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
    source = open_source(job.input)
    to_video = is_video(job.output)
    if to_video:
        _check_video_output(job, frames)
    else:
        _check_sequence_output(job, frames)
    styles = _check_params(job)
    stage = job.colour.check()
    outputs = output_paths(job, frames)
    check_no_overwrite(outputs, _files_read(job, styles))
    reads = with_handles(job, frames)  # a temporal window reads frames outside the chunk
    _check_present(source, reads, "input")
    if job.mask is not None:
        _check_present(open_source(job.mask), reads, "mask")
    for style in styles:
        style.pixels()
    sizes = _decode_inputs(job, reads)
    if to_video:
        _check_video_sizes(job, sizes)
    make_output_folders(dict.fromkeys(p.parent for p in outputs))
    return stage


def _check_sequence_output(job: RenderJob, frames: list[int]) -> None:
    target = Sequence.parse(job.output)
    if target.is_still and len(job.frames) > 1:
        raise InputError(
            f"the output {job.output!r} has no frame token (####, %04d or @) "
            f"but {len(job.frames)} frames are rendered"
        )
    job.write.check(target.path(frames[0] if frames else 0))


def video_refusal(option: str, output: str) -> InputError:
    """The one-line refusal of ``option`` with the video output ``output``."""
    return InputError(
        f"{option} cannot write the video file {output}: a video is one file, rendered whole by "
        "one process; render an image sequence (out.####.exr) for a farm and encode it after"
    )


def _check_video_output(job: RenderJob, frames: list[int]) -> None:
    """A video holds the whole shot, written in order by this process."""
    check_video_target(Path(job.output), job.codec)
    if not Sequence.parse(job.output).is_still:
        raise InputError(f"the video file {job.output} is one file: its name has no frame token")
    if frames != list(job.frames):
        raise video_refusal("--chunk", job.output)
    if job.skip_existing:
        raise video_refusal("--skip-existing", job.output)
    if job.write.depth != "auto":
        raise InputError(f"--depth is for image sequences; the video {job.output} is 8-bit")


def _check_video_sizes(job: RenderJob, sizes: _Sizes) -> None:
    """Every frame of a video has one size, with even sides for H.264 (4:2:0 chroma)."""
    plate_sizes = {size for (what, _), size in sizes.items() if what == ""}
    if not plate_sizes:
        return
    if len(plate_sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for h, w in sorted(plate_sizes))
        raise InputError(
            f"the frames of {job.input} have several sizes ({listed}); a video's frames have one"
        )
    (height, width), *_ = plate_sizes
    if job.codec == "h264" and (height % 2 or width % 2):
        raise InputError(
            f"H.264 needs even sides but the frames are {width}x{height}: write ProRes "
            "(--codec prores, .mov) or an image sequence"
        )


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
    source = open_source(job.input)
    files = [("the input", source.file(f)) for f in job.frames]
    if job.mask is not None:
        mask = open_source(job.mask)
        files += [("the mask", mask.file(f)) for f in job.frames]
    files += [("the style image", Path(style.label)) for style in styles]
    if job.keys is not None:
        files.append(("the keyframe file", Path(job.keys)))
    return files


def _check_present(source: FrameSource, frames: list[int], what: str) -> None:
    missing = source.missing(frames)
    if missing:
        raise ImageIOError(
            f"missing {what} frame{'s' if len(missing) > 1 else ''} {format_frames(missing)} "
            f"of {source.pattern} (e.g. {source.file(missing[0])})"
        )


def _decode_inputs(job: RenderJob, frames: list[int]) -> _Sizes:
    """Decode every input and mask frame of ``frames`` (a still once), one at a time; return
    the sizes ``(H, W)`` found, by ``(what, source key)`` (``what`` is ``""`` for the input).

    Headers alone miss a frame cut short or damaged inside its pixel data; decoding finds what
    the format can detect (a cut file, a broken compressed chunk, a PNG CRC, a bad JPEG code),
    never a flipped bit in raw, uncompressed pixels.
    """
    source = open_source(job.input)
    mask = open_source(job.mask) if job.mask is not None else None
    sizes: _Sizes = {}
    for frame in frames:
        plate = _decoded_size(sizes, source, frame, "")
        if mask is not None:
            size = _decoded_size(sizes, mask, frame, "mask")
            check_mask_size(mask.file(frame), size, plate)
    return sizes


def _decoded_size(sizes: _Sizes, source: FrameSource, frame: int, what: str) -> tuple[int, int]:
    key = (what, source.key(frame))
    if key not in sizes:
        height, width = source.read(frame, what).pixels.shape[:2]
        sizes[key] = (height, width)
    return sizes[key]


def check_mask_size(path: Path, mask: tuple[int, ...], plate: tuple[int, ...]) -> None:
    """Raise InputError when the mask ``path`` of size ``mask`` (height, width) is not the
    plate's."""
    if mask[:2] != plate[:2]:
        raise InputError(
            f"the mask {path} is {mask[1]}x{mask[0]} but the plate is {plate[1]}x{plate[0]}"
        )
