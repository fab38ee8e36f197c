"""Video files in and out: ``.mp4``, ``.mov``, ``.mkv`` and ``.m4v`` through PyAV (FFmpeg inside
its wheel).

Colour: video is display-referred. Frames decode to 8-bit RGB with the file's YCbCr matrix and
range: the tagged ones, else what players assume (BT.709 for frames of 720 lines or more, BT.601
below; limited range unless the pixel format is a full-range ``yuvj`` one). The engine then
treats them as any 8-bit image: display-referred, never linearised. Written files are BT.709,
limited range, and say so in their tags. The YCbCr conversions are swscale's bit-exact ones
(:func:`_scaling`): the same pixels on every machine.

Frames are numbered in presentation order from ``first`` (1 by default, as a compositor's movie
reader numbers them). :class:`VideoReader` reads any frame on its own, frame-accurately: it
indexes every packet's timestamp once (demuxing only), seeks to the key frame before the one
asked for and decodes forward to it, so a farm chunk starting mid-shot reads the same pixels as
a render of the whole shot. Reading the next frame goes on decoding without a seek.

:class:`VideoWriter` writes H.264 (``libx264``, yuv420p, CRF 16) or ProRes 422 HQ
(``prores_ks``, ``.mov`` only) to a temporary file beside the target and renames it when closed
without an error: a failed render leaves no partial movie. :func:`frame_rate` reads a rate as
people write it (``24``, ``23.976``, ``30000/1001``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.io.atomic import temp_path

__all__ = [
    "CODECS",
    "VIDEO_EXTENSIONS",
    "VideoReader",
    "VideoWriter",
    "check_video_target",
    "frame_rate",
    "is_video",
]

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".m4v")
Codec = Literal["h264", "prores"]
CODECS: tuple[Codec, ...] = ("h264", "prores")
_HD_LINES = 720
_NTSC = Fraction(1000, 1001)
_MAX_RATE = 1000


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a video file (by its extension)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def frame_rate(text: str) -> Fraction:
    """Frames per second from ``24``, ``25``, ``24000/1001`` or a decimal. The decimal NTSC
    spellings (``23.976``, ``29.97``, ``59.94``: within 0.01 of N x 1000/1001) are their exact
    rates, as editors and compositors read them; a rate written as a fraction is taken as it is.

    Raises:
        InputError: not a positive number of frames per second (up to 1000).
    """
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        rate = Fraction(0)
    if rate.denominator != 1 and "/" not in text:
        ntsc = round(rate / _NTSC) * _NTSC
        if abs(rate - ntsc) < Fraction(1, 100):
            rate = ntsc
    if not 0 < rate <= _MAX_RATE:
        raise InputError(
            f"a frame rate is frames per second such as 24, 23.976 or 30000/1001, got {text!r}"
        )
    return rate


class VideoReader:
    """Random access to the frames of one video file (its first video stream).

    Attributes:
        path: the file.
        count: how many frames it has.
        size: ``(H, W)`` of its frames.
        rate: frames per second, as the container states it.
        first: the number of its first frame.

    Raises:
        ImageIOError: the file is missing, not a video, or has no decodable video stream.
    """

    def __init__(self, path: str | os.PathLike[str], first: int = 1) -> None:
        import av

        self.path = Path(path)
        self.first = first
        failure = f"cannot read video {self.path}"
        if not self.path.is_file():
            raise ImageIOError(f"{failure}: no such file")
        try:
            self._container = av.open(os.fspath(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise ImageIOError(f"{failure}: {_reason(exc)}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise ImageIOError(f"{failure}: no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        try:
            # Presentation timestamps of every frame, in order (packets come in decode order).
            stamps = sorted(
                p.pts for p in self._container.demux(self._stream) if p.pts is not None and p.size
            )
        except av.FFmpegError as exc:
            self._container.close()
            raise ImageIOError(f"{failure}: {_reason(exc)}") from exc
        if not stamps:
            self._container.close()
            raise ImageIOError(f"{failure}: no frames")
        self._stamps = stamps
        self.count = len(stamps)
        self.size = (int(self._stream.height), int(self._stream.width))
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.rate = Fraction(rate) if rate else Fraction(25)
        self._failure = failure
        self._frames: Any = None  # the decoder's frame iterator after the last read
        self._next = -1  # the index it yields next

    @property
    def frames(self) -> range:
        """The frame numbers of the file."""
        return range(self.first, self.first + self.count)

    def read(self, frame: int) -> np.ndarray:
        """Frame number ``frame`` as ``(H, W, 3)`` uint8 RGB.

        Raises:
            InputError: ``frame`` is not one of :attr:`frames`.
            ImageIOError: the file is damaged at that frame.
        """
        import av

        index = frame - self.first
        if not 0 <= index < self.count:
            raise InputError(
                f"{self.path} has frames {self.first}-{self.first + self.count - 1}, not {frame}"
            )
        stamp = self._stamps[index]
        try:
            if self._frames is None or index != self._next:
                self._container.seek(stamp, stream=self._stream, backward=True, any_frame=False)
                self._frames = self._container.decode(self._stream)
            for decoded in self._frames:
                if decoded.pts is None or decoded.pts < stamp:
                    continue
                if decoded.pts > stamp:  # the asked-for frame never came out of the decoder
                    break
                self._next = index + 1
                return _rgb(decoded)
        except av.FFmpegError as exc:
            self._frames = None
            raise ImageIOError(f"{self._failure}: frame {frame}: {_reason(exc)}") from exc
        self._frames = None
        raise ImageIOError(f"{self._failure}: frame {frame} could not be decoded")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _scaling() -> Any:
    """swscale flags for both directions: bicubic chroma, interpolated at full resolution, with
    accurate rounding (a flat colour survives a 4:2:0 round trip exactly; FFmpeg's defaults
    miss by 1.3 levels), and bit-exact, so that every farm node decodes the same pixels
    whatever SIMD its CPU has (H.264 decoding itself is bit-exact by the standard)."""
    from av.video.reformatter import Interpolation as F

    return F.BICUBIC | F.ACCURATE_RND | F.FULL_CHR_H_INT | F.FULL_CHR_H_INP | F.BITEXACT


def _rgb(frame: Any) -> np.ndarray:
    """A decoded frame as RGB with its own matrix and range, or the players' defaults."""
    from av.video.reformatter import ColorRange, Colorspace

    tagged = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.SMPTE170M}
    matrix = tagged.get(int(frame.colorspace))
    if matrix is None:
        matrix = Colorspace.ITU709 if frame.height >= _HD_LINES else Colorspace.ITU601
    full = int(frame.color_range) == 2 or frame.format.name.startswith("yuvj")
    rgb = frame.reformat(
        format="rgb24",
        src_colorspace=matrix,
        dst_colorspace=matrix,
        src_color_range=ColorRange.JPEG if full else ColorRange.MPEG,
        dst_color_range=ColorRange.JPEG,
        interpolation=_scaling(),
    )
    return np.ascontiguousarray(rgb.to_ndarray())


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__


def check_video_target(path: Path, codec: str) -> None:
    """Raise InputError unless a :class:`VideoWriter` can write ``codec`` to ``path``."""
    if not is_video(path):
        raise InputError(f"cannot write {path}: not a video file ({', '.join(VIDEO_EXTENSIONS)})")
    if codec not in CODECS:
        raise InputError(f"the codec must be one of {', '.join(CODECS)}, got {codec!r}")
    if codec == "prores" and path.suffix.lower() != ".mov":
        raise InputError(f"cannot write {path}: ProRes goes in a .mov file")


class VideoWriter:
    """Writes frames to a video file, which appears under its name only when :meth:`close`
    succeeds (a context manager: leaving on an exception discards the file).

    Args:
        path: ``.mp4``/``.mov``/``.mkv``/``.m4v`` (ProRes: ``.mov``).
        rate: frames per second.
        codec: ``"h264"`` or ``"prores"``.
        before_rename: called with the finished temporary file before it gets the target's name
            (a check of the whole file: raising discards it).

    Raises:
        InputError: an unknown codec or extension, ProRes outside ``.mov``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: Fraction | int,
        codec: Codec = "h264",
        *,
        before_rename: Callable[[Path], object] | None = None,
    ) -> None:
        self.path = Path(path)
        check_video_target(self.path, codec)
        self.codec = codec
        self.rate = Fraction(rate)
        self._before_rename = before_rename
        self._tmp = temp_path(self.path)
        self._container: Any = None
        self._stream: Any = None

    def write(self, rgb: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame (every frame the same size).

        Raises:
            InputError: not uint8 RGB, another size than the first frame's, or odd sides for
                H.264 (its 4:2:0 chroma needs even ones).
            ImageIOError: the file cannot be written.
        """
        import av
        from av.video.reformatter import ColorRange, Colorspace

        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError(f"video frames are (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        try:
            if self._container is None:
                self._open(h, w)
            elif (h, w) != (self._stream.height, self._stream.width):
                raise InputError(
                    f"{self.path}: a {w}x{h} frame after "
                    f"{self._stream.width}x{self._stream.height} ones"
                )
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(
                format=self._stream.pix_fmt,
                src_colorspace=Colorspace.ITU709,
                dst_colorspace=Colorspace.ITU709,
                src_color_range=ColorRange.JPEG,
                dst_color_range=ColorRange.MPEG,
                interpolation=_scaling(),
            )
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise ImageIOError(f"cannot write {self.path}: {_reason(exc)}") from exc

    def _open(self, h: int, w: int) -> None:
        import av

        if self.codec == "h264" and (h % 2 or w % 2):
            raise InputError(
                f"cannot write {self.path}: H.264 needs even sides, the frames are {w}x{h} "
                "(write ProRes or an image sequence)"
            )
        self._container = av.open(os.fspath(self._tmp), mode="w", format=_format(self.path))
        if self.codec == "h264":
            stream = self._container.add_stream("libx264", rate=self.rate)
            stream.pix_fmt = "yuv420p"
            # One encoder thread: x264's bitstream depends on its thread count (2 and 4 threads
            # gave different files here), which it takes from the machine's cores. Cost: 0.36 s
            # against 0.23 s for a 1080p frame of noise on 2 cores. It is still not always the
            # same file: 8 encodes of the same frames in one process that also ran the engine
            # made 2 different files (2026-12-05; a bare PyAV encode made 1 in 10). Not
            # understood; the frames themselves are bit-identical.
            stream.options = {"crf": "16", "preset": "medium", "threads": "1"}
        else:
            stream = self._container.add_stream("prores_ks", rate=self.rate)
            stream.pix_fmt = "yuv422p10le"
            stream.options = {"profile": "3"}  # 422 HQ
        stream.width, stream.height = w, h
        codec = stream.codec_context
        codec.colorspace, codec.color_primaries, codec.color_trc = 1, 1, 1  # BT.709
        codec.color_range = 1  # limited ("tv", MPEG)
        self._stream = stream

    def close(self) -> None:
        """Finish the file and give it its name (an empty video is an error)."""
        import av

        if self._container is None:
            raise ImageIOError(f"cannot write {self.path}: no frames")
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
            if self._before_rename is not None:
                self._before_rename(self._tmp)
            os.replace(self._tmp, self.path)
        except (av.FFmpegError, OSError) as exc:
            self.discard()
            raise ImageIOError(f"cannot write {self.path}: {_reason(exc)}") from exc
        except BaseException:  # the check refused it, or the process is stopping
            self.discard()
            raise

    def discard(self) -> None:
        """Drop what was written (nothing appears under the target's name)."""
        if self._container is not None:
            # a half-written file: only its removal matters
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:
            self.discard()


def _format(path: Path) -> str:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}[path.suffix.lower()]
