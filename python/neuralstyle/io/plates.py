"""Plates for farm renders: every channel and the metadata of a frame file, written atomically with
per-format options. :mod:`neuralstyle.io.images` covers single images (RGBA at most, fixed
options); this module adds what sequences need:

- all channels: the colour channels go to the engine, the others (``depth.Z``, AOVs, mattes) are
  carried through to EXR outputs unchanged (as float32, exact for half and float channels);
- metadata: the input's attributes carried over, plus the render's own (:func:`write_plate`);
- formats: EXR half/float with ZIP, PIZ, DWAA, ...; DPX 10-bit (RGB), 12/16-bit; TIFF and PNG
  8/16-bit; JPEG 8-bit (RGB);
- atomic, recoverable writes (:mod:`neuralstyle.io.atomic`): ``.<name>.<host>-<pid>.tmp<ext>`` in
  the target folder, fsynced and renamed; a killed process's are deleted by ``remove_stale_temps``;
- verification: reading a written frame back in full (:func:`verify_plate`);
- video frames: a plate as the 8-bit display RGB a video file holds (:func:`display_rgb8`).

Integer pixels are display-referred and float pixels scene-linear (the engine's convention). When
colour is managed by OCIO the pixels are already in the output space and are only quantised.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio  # noqa: N813  # the library's own spelling

from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.io.images import cannot_read, convert, open_image, read_pixels, write_pixels
from neuralstyle.io.paths import folder_problem

__all__ = [
    "COMPRESSIONS",
    "DEPTHS",
    "Plate",
    "WriteOptions",
    "display_rgb8",
    "encoded_for_verify",
    "is_lossy",
    "read_plate",
    "verify_plate",
    "write_plate",
]

#: OpenEXR compressions (``dwaa:45`` sets the DWA level); the lossy ones are not compared on verify.
COMPRESSIONS = (
    "none",
    "rle",
    "zips",
    "zip",
    "piz",
    "pxr24",
    "b44",
    "b44a",
    "dwaa",
    "dwab",
    "htj2k",
)
_LOSSY = ("pxr24", "b44", "b44a", "dwaa", "dwab")
#: ``--depth`` values: EXR half/float, integer bits for DPX/TIFF/PNG/JPEG.
DEPTHS = ("auto", "half", "float", "8", "10", "12", "16")

_EXTENSIONS = {
    ".exr": "exr",
    ".dpx": "dpx",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}
_INT_DEPTHS = {"exr": (), "dpx": (10, 12, 16, 8), "tiff": (16, 8), "png": (16, 8), "jpeg": (8,)}
_UNASSOCIATED = "oiio:UnassociatedAlpha"
# Attributes of the input that describe its encoding, not its content: never copied to an output.
_NOT_CARRIED = re.compile(
    r"^(oiio:|openexr:|dpx:|tiff:|png:|jpeg:|compression$|Compression$|CompressionQuality$|"
    r"planarconfig$|Orientation$|colorInteropID$|ImageDescription$|Software$)"
)


@dataclass
class Plate:
    """One frame file in memory.

    Attributes:
        pixels: ``(H, W, C)``, row 0 at the top; float32 for float files, uint8/uint16 for
            integer files (display-referred).
        channels: the channel names, ``R, G, B[, A]`` first when the file has them.
        colour: how many leading channels are colour and alpha: 3 or 4, or 1 or 2 for grey.
        premultiplied: whether colour is premultiplied by alpha (EXR: yes; PNG: no).
        attributes: metadata to carry to outputs.
        formats: each channel's stored type (``half``, ``float``, ``uint16``...).
    """

    pixels: np.ndarray
    channels: tuple[str, ...]
    colour: int
    premultiplied: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ()

    @property
    def extra(self) -> np.ndarray:
        """The channels after colour and alpha (may have 0 channels)."""
        return self.pixels[..., self.colour :]


@dataclass(frozen=True)
class WriteOptions:
    """How outputs are stored. ``depth`` ``auto``: EXR half, DPX 10-bit, TIFF/PNG 16-bit,
    JPEG 8-bit. ``compression`` is for EXR (default zip, lossless), ``quality`` for JPEG."""

    depth: str = "auto"
    compression: str = "zip"
    quality: int = 95

    def check(self, path: str | os.PathLike[str]) -> None:
        """Raise InputError when these options cannot write ``path``."""
        kind = _kind(Path(path))
        if self.depth not in DEPTHS:
            raise InputError(f"--depth must be one of {', '.join(DEPTHS)}, got {self.depth!r}")
        name, _, level = self.compression.partition(":")
        if name not in COMPRESSIONS or (level and not level.isdigit()):
            raise InputError(
                f"--compression must be one of {', '.join(COMPRESSIONS)} (dwaa:LEVEL), "
                f"got {self.compression!r}"
            )
        if not 1 <= self.quality <= 100:
            raise InputError(f"--quality must be from 1 to 100, got {self.quality}")
        if self.depth == "auto":
            return
        if kind == "exr" and self.depth not in ("half", "float"):
            raise InputError(f"EXR stores half or float, not --depth {self.depth}")
        if kind != "exr" and (not self.depth.isdigit() or int(self.depth) not in _INT_DEPTHS[kind]):
            allowed = ", ".join(str(d) for d in _INT_DEPTHS[kind])
            raise InputError(
                f"{kind.upper()} stores {allowed}-bit integers, not --depth {self.depth}"
            )


def _kind(path: Path) -> str:
    kind = _EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"cannot write {path}: unknown image format (use {', '.join(sorted(_EXTENSIONS))})"
        )
    return kind


def read_plate(path: str | os.PathLike[str], what: str = "") -> Plate:
    """Read every channel of the first subimage of ``path``, decoding every pixel.

    Args:
        path: the frame file.
        what: what messages call it (``"mask"``); default just the path.

    Raises:
        ImageIOError: the file is missing, empty, truncated, corrupt or not an image (the same
            checks and messages as :func:`neuralstyle.io.images.read`).
    """
    failure = cannot_read(path, what)
    # straight alpha stays straight (PNG): no rounding
    with open_image(path, failure, unassociated=True) as image:
        spec = image.spec()
        native = str(spec.format)
        dtype = native if native in ("uint8", "uint16") else "float"
        pixels = read_pixels(image, failure, spec.nchannels, dtype)
        channels = tuple(spec.channelnames)
        formats = tuple(str(f) for f in spec.channelformats) or (native,) * spec.nchannels
        attributes = {a.name: a.value for a in spec.extra_attribs if not _NOT_CARRIED.match(a.name)}
        premultiplied = spec.get_int_attribute(_UNASSOCIATED, 0) == 0
    colour = _colour_count(channels, spec.alpha_channel)
    return Plate(pixels, channels, colour, premultiplied, attributes, formats)


def _colour_count(channels: tuple[str, ...], alpha: int) -> int:
    """How many leading channels are colour and alpha: RGB[A] (OIIO puts them first), grey with
    or without alpha (1 or 2), or unnamed channels read as RGB[A]."""
    names = [c.split(".")[-1].upper() for c in channels]
    if names[:3] == ["R", "G", "B"]:
        return 4 if len(names) > 3 and (names[3] == "A" or alpha == 3) else 3
    if len(names) <= 2:
        return len(names)
    return 4 if len(names) >= 4 and alpha == 3 else 3


def write_plate(
    path: str | os.PathLike[str],
    plate: Plate,
    options: WriteOptions | None = None,
    *,
    attributes: Mapping[str, str | int | float] | None = None,
    colour_managed: bool = False,
    before_rename: Any = None,
) -> None:
    """Write ``plate`` to ``path`` atomically (the file appears complete or not at all).

    Args:
        path: the output file; the format comes from the extension.
        plate: pixels and channels; extra channels are kept in EXR outputs and dropped otherwise.
        options: depth, compression, quality.
        attributes: metadata to add (overrides the plate's own).
        colour_managed: the pixels are already encoded for the output (OCIO): integer outputs
            are quantised without the sRGB curve.
        before_rename: called with the temporary path once it is complete (a test hook).

    Raises:
        InputError: options that cannot write this format.
        ImageIOError: the file could not be written (folder missing or read-only, disk full).
    """
    target = Path(path)
    opts = options or WriteOptions()
    opts.check(target)
    kind = _kind(target)
    problem = folder_problem(target)
    if problem is not None:
        raise ImageIOError(f"cannot write {target}: {problem}")
    pixels, names, straight, type_name, channel_types = _encode(plate, kind, opts, colour_managed)

    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, type_name)
    spec.channelnames = names
    spec.alpha_channel = names.index("A") if "A" in names else -1
    if channel_types is not None:
        spec.channelformats = tuple(oiio.TypeDesc(t) for t in channel_types)
    for key, value in {**plate.attributes, **(attributes or {})}.items():
        with contextlib.suppress(TypeError, ValueError):  # attributes OIIO cannot store
            spec.attribute(key, value)
    if straight:
        spec.attribute(_UNASSOCIATED, 1)  # already straight: OIIO must not unpremultiply again
    if kind == "exr":
        spec.attribute("compression", opts.compression)
    elif kind == "dpx":
        spec.attribute("oiio:BitsPerSample", _bits(kind, opts))
    elif kind in ("tiff", "png"):
        spec.attribute("compression", "zip")
    else:
        spec.attribute("Compression", f"jpeg:{opts.quality}")

    write_pixels(target, spec, pixels, before_rename=before_rename)


def _bits(kind: str, opts: WriteOptions) -> int:
    if opts.depth.isdigit():
        return int(opts.depth)
    return _INT_DEPTHS[kind][0]


def _encode(
    plate: Plate, kind: str, opts: WriteOptions, colour_managed: bool
) -> tuple[np.ndarray, tuple[str, ...], bool, str, tuple[str, ...] | None]:
    """The pixel array OIIO gets (already in the stored type, so no conversion happens inside
    OIIO and a verify can compare exactly), channel names, straight alpha, type, channel types."""
    colour = plate.pixels[..., : plate.colour]
    has_alpha = plate.colour in (2, 4)
    # JPEG has no alpha. OIIO 3.2 loses the last sample of a row of 10-bit RGBA DPX at some
    # widths (64: 256 samples, not a multiple of the 3 per 32-bit word); --verify caught it.
    # DPX 10-bit is RGB in practice: alpha needs --depth 12 or 16 there.
    if has_alpha and (kind == "jpeg" or (kind == "dpx" and _bits(kind, opts) == 10)):
        colour = colour[..., : plate.colour - 1]  # the colour is kept, alpha dropped
        has_alpha = False
    straight = has_alpha and not plate.premultiplied
    want_straight = has_alpha and (kind == "png" or (kind != "exr" and straight))
    names = tuple(plate.channels[: colour.shape[2]])

    if kind == "exr":
        dtype = np.dtype(np.float32 if opts.depth == "float" else np.float16)
    else:
        dtype = np.dtype(np.uint8 if _bits(kind, opts) == 8 else np.uint16)
    encoded = _convert(colour, dtype, straight, want_straight, curve=not colour_managed)
    if kind == "dpx" and _bits(kind, opts) in (10, 12):
        # Whole steps of the file's depth, so reading back gives these values (verify compares).
        steps = float(2 ** _bits(kind, opts) - 1)
        encoded = np.round(np.round(encoded / 65535.0 * steps) * (65535.0 / steps)).astype(
            np.uint16
        )

    type_name = {"float16": "half", "float32": "float", "uint8": "uint8", "uint16": "uint16"}
    if kind != "exr" or plate.extra.shape[2] == 0:
        return np.ascontiguousarray(encoded), names, want_straight, type_name[dtype.name], None
    # EXR keeps extra channels in their own stored type; the buffer is float32 for all of them.
    extra = plate.extra.astype(np.float32)
    if plate.pixels.dtype.kind != "f":
        extra = extra / float(np.iinfo(plate.pixels.dtype).max)
    extra_types = (
        tuple(t if t in ("half", "float") else "float" for t in plate.formats[plate.colour :])
        or ("float",) * extra.shape[2]
    )
    buffer = np.concatenate([encoded.astype(np.float32), extra], axis=2)
    types = (type_name[dtype.name],) * encoded.shape[2] + extra_types
    all_names = names + tuple(plate.channels[plate.colour :])
    return np.ascontiguousarray(buffer), all_names, False, "float", types


def _convert(
    colour: np.ndarray, dtype: np.dtype, straight: bool, want_straight: bool, *, curve: bool
) -> np.ndarray:
    """Colour to ``dtype`` and the wanted alpha association. With ``curve``, float <-> integer
    applies the sRGB curve (:func:`neuralstyle.io.images.convert`, the engine's convention);
    without it values are only scaled and rounded."""
    same_kind = (colour.dtype.kind == "f") == (dtype.kind == "f")
    if straight == want_straight and colour.dtype == dtype:
        return colour
    if straight == want_straight and dtype.kind == "f" and colour.dtype.kind == "f":
        return colour.astype(dtype)
    if curve or same_kind:
        return np.asarray(
            convert(colour, dtype, premultiplied=not straight, to_premultiplied=not want_straight)
        )
    # Colour-managed float to integer: association in float, then quantise (no curve).
    as_float = convert(
        colour, np.dtype(np.float32), premultiplied=not straight, to_premultiplied=not want_straight
    )
    top = float(np.iinfo(dtype).max)
    quantised: np.ndarray = np.round(np.clip(as_float, 0.0, 1.0) * top).astype(dtype)
    return quantised


def verify_plate(
    path: str | os.PathLike[str],
    expected: np.ndarray | None = None,
    *,
    shape: tuple[int, int] | None = None,
    lossy: bool = False,
    tolerance: int = 0,
) -> None:
    """Read ``path`` back in full and check it.

    Args:
        path: the frame file.
        expected: what :func:`write_plate` handed to OIIO (see :func:`encoded_for_verify`); when
            given (and the compression is lossless), the pixels must match it within
            ``tolerance`` units of the stored type.
        shape: the expected ``(height, width)``.
        lossy: skip the pixel comparison (lossy compression).
        tolerance: allowed difference for integer types (DPX 10/12-bit: 1).

    Raises:
        ImageIOError: the file is missing, unreadable, of the wrong size, holds NaN/inf, or its
            pixels differ from ``expected``.
    """
    name = os.fspath(path)
    failure = f"verify failed for {name}"
    # compare alpha as stored, as write_plate stored it
    with open_image(name, failure, unassociated=True) as image:
        spec = image.spec()
        pixels = read_pixels(image, failure, spec.nchannels, str(spec.format))
    if shape is not None and pixels.shape[:2] != shape:
        raise ImageIOError(
            f"verify failed for {name}: expected {shape[1]}x{shape[0]}, "
            f"found {pixels.shape[1]}x{pixels.shape[0]}"
        )
    if pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
        raise ImageIOError(f"verify failed for {name}: NaN or infinite pixels")
    if expected is None or lossy:
        return
    if expected.shape[:2] != pixels.shape[:2] or expected.shape[2] > pixels.shape[2]:
        raise ImageIOError(
            f"verify failed for {name}: expected {expected.shape[2]} channels, "
            f"found {pixels.shape[2]}"
        )
    got = pixels[..., : expected.shape[2]].astype(np.float64)
    want = expected.astype(np.float64)
    if pixels.dtype.kind == "f":
        equal = np.array_equal(got, want)
    else:
        equal = bool(np.abs(got - want).max(initial=0.0) <= tolerance)
    if not equal:
        raise ImageIOError(f"verify failed for {name}: pixels differ from what was written")


def is_lossy(path: str | os.PathLike[str], options: WriteOptions) -> bool:
    """Whether ``options`` store ``path`` lossily (JPEG, lossy EXR compressions)."""
    kind = _kind(Path(path))
    return kind == "jpeg" or (kind == "exr" and options.compression.split(":")[0] in _LOSSY)


def encoded_for_verify(
    path: str | os.PathLike[str], plate: Plate, options: WriteOptions, colour_managed: bool
) -> tuple[np.ndarray, int]:
    """The array :func:`write_plate` hands OIIO for ``plate``, in the stored type of the colour
    channels, and the tolerance a read-back may differ by."""
    kind = _kind(Path(path))
    pixels, _, _, _, types = _encode(plate, kind, options, colour_managed)
    if types is not None and kind == "exr":
        pixels = pixels.astype(np.float16 if types[0] == "half" else np.float32)
        if any(t != types[0] for t in types):
            pixels = pixels[..., : plate.colour]  # mixed types: compare the colour channels only
    tolerance = 1 if kind == "dpx" else 0
    return pixels, tolerance


def display_rgb8(plate: Plate, *, colour_managed: bool = False) -> np.ndarray:
    """``plate``'s picture as ``(H, W, 3)`` uint8 display RGB, for a video frame: exactly what an
    8-bit JPEG of it stores (video has no alpha either), so a video and a JPEG sequence of a
    render hold the same pixels before compression.

    Alpha is dropped and the colour kept as it is (premultiplied colour is the picture over
    black); float colour is sRGB-encoded, or only quantised when ``colour_managed`` (OCIO has
    encoded it for its output space); 8-bit colour passes unchanged (a video plate's pixels, as
    ``neuralstyle stylize clip.mp4`` writes them); grey becomes RGB.
    """
    pixels = _encode(plate, "jpeg", WriteOptions(depth="8"), colour_managed)[0]
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels)
