"""Image files through OpenImageIO: read in the native pixel type, write atomically.

Arrays are ``(H, W, C)`` with row 0 at the top. Pixels are kept as stored: integer files are
display-referred, float files scene-linear, and alpha stays associated (premultiplied) or straight
as the file holds it (:class:`ImageFile` says which), so reading and writing back changes nothing.

Writing converts only what the target format cannot hold (all colour arithmetic is in
:mod:`neuralstyle.pixel_encoding`):

======== ============================ ===================== ======================
format   keeps                        float becomes         int becomes
======== ============================ ===================== ======================
EXR      half, float; premultiplied   (kept)                sRGB-decoded to linear
                                                            half (uint8) / float
PNG      uint8, uint16; straight      sRGB-encoded uint16   (kept)
TIFF     uint8, uint16, float;        float (half widened)  (kept)
         either alpha
JPEG     uint8; no alpha              sRGB-encoded uint8    uint8
======== ============================ ===================== ======================
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import OpenImageIO as oiio  # noqa: N813  # the library's own spelling

from neuralstyle.errors import ImageIOError, InputError
from neuralstyle.io.atomic import atomic_target
from neuralstyle.io.paths import folder_problem

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "FORMATS",
    "ImageFile",
    "as_colour",
    "cannot_read",
    "check_format",
    "convert",
    "open_image",
    "read",
    "read_image",
    "read_pixels",
    "write_image",
    "write_pixels",
]


@dataclass(frozen=True)
class _Format:
    dtypes: tuple[str, ...]  # pixel types it stores, the first being the one others convert to
    float_to: str  # what float pixels become when the format has no float
    alpha: str  # "premultiplied", "straight", "either" or "none"
    attributes: tuple[tuple[str, str], ...]


_EXR = _Format(("float16", "float32"), "", "premultiplied", (("compression", "zip"),))
_PNG = _Format(("uint8", "uint16"), "uint16", "straight", ())
_TIFF = _Format(("uint8", "uint16", "float16", "float32"), "", "either", (("compression", "zip"),))
_JPEG = _Format(("uint8",), "uint8", "none", (("Compression", "jpeg:95"),))

#: File extensions :func:`write_image` writes.
FORMATS = {".exr": _EXR, ".png": _PNG, ".tif": _TIFF, ".tiff": _TIFF, ".jpg": _JPEG, ".jpeg": _JPEG}

_NATIVE = ("uint8", "uint16", "half", "float")  # OIIO type names of the pixel types we keep
_UNASSOCIATED = "oiio:UnassociatedAlpha"


@dataclass(frozen=True)
class ImageFile:
    """Pixels as stored in a file.

    Attributes:
        pixels: ``(H, W, C)``, row 0 at the top, uint8, uint16, float16 or float32.
        premultiplied: whether colour is premultiplied by alpha (EXR: always; PNG: never).
    """

    pixels: np.ndarray
    premultiplied: bool


def read(path: str | os.PathLike[str], what: str = "") -> ImageFile:
    """Read the first subimage of ``path`` (at most four channels) in its native pixel type.

    Types other than uint8, uint16, half and float are read as float32. Every pixel is decoded:
    a truncated or corrupt file is an error, never a partly grey picture.

    Args:
        path: the image file.
        what: what messages call it (``"style image"``, ``"mask"``); default just the path.

    Raises:
        ImageIOError: the file is missing, empty, truncated, corrupt or not an image (one line,
            naming the file).
    """
    failure = cannot_read(path, what)
    with open_image(path, failure, unassociated=True) as image:
        spec = image.spec()
        native = str(spec.format)
        channels = min(spec.nchannels, 4)
        pixels = read_pixels(image, failure, channels, native if native in _NATIVE else "float")
        premultiplied = spec.get_int_attribute(_UNASSOCIATED, 0) == 0
    return ImageFile(pixels, premultiplied)


def cannot_read(path: str | os.PathLike[str], what: str = "") -> str:
    """The start of a read error: ``cannot read <what> <path>``."""
    return " ".join(("cannot read", *([what] if what else []), os.fspath(path)))


@contextlib.contextmanager
def open_image(
    path: str | os.PathLike[str], failure: str, *, unassociated: bool = False
) -> Iterator[oiio.ImageInput]:
    """``path`` opened for reading, closed on leaving the block; the checks every reader shares.

    Before OpenImageIO sees a PNG its chunks are checked (whole, CRCs right): libpng would report
    a cut or damaged chunk through OIIO too, but its default handler first prints a
    ``libpng error:`` line of its own on the process's stderr (OIIO's handler returns instead of
    jumping), and this code also runs inside compositors, whose stderr is not ours to redirect.

    Args:
        path: the image file.
        failure: the start of every message, e.g. ``"cannot read mask m.png"``.
        unassociated: keep straight alpha as stored (no rounding on read).

    Raises:
        ImageIOError: ``"<failure>: <reason>"``: missing, empty, a damaged PNG, not an image.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ImageIOError(f"{failure}: no such file")
    try:
        damage = _file_damage(name)
    except OSError as exc:
        raise ImageIOError(f"{failure}: {exc.strerror or exc}") from exc
    if damage is not None:
        raise ImageIOError(f"{failure}: {damage}")
    config = oiio.ImageSpec()
    if unassociated:
        config.attribute(_UNASSOCIATED, 1)
    image = oiio.ImageInput.open(name, config)
    if image is None:
        raise ImageIOError(f"{failure}: {_reason(oiio.geterror())}")
    try:
        yield image
    except (RuntimeError, ValueError) as exc:
        raise ImageIOError(f"{failure}: {_reason(str(exc))}") from exc
    finally:
        image.close()


def read_pixels(image: oiio.ImageInput, failure: str, channels: int, dtype: str) -> np.ndarray:
    """All pixels of the current subimage, ``(H, W, C)``, row 0 at the top.

    Decoders report damage they worked around (libjpeg's "premature end of JPEG file", a bad
    Huffman code) as an error after returning the pixels: that counts as a failure here.

    Raises:
        ImageIOError: ``"<failure>: <reason>"``.
    """
    pixels = image.read_image(0, 0, 0, channels, dtype)
    if pixels is None or image.has_error:
        raise ImageIOError(f"{failure}: {_reason(image.geterror(), 'cannot decode the pixels')}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.ascontiguousarray(pixels)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _file_damage(name: str) -> str | None:
    """Why ``name`` is unreadable before any decoder opens it (empty, a damaged PNG), or None."""
    with open(name, "rb") as file:
        head = file.read(len(_PNG_SIGNATURE))
        if not head:
            return "empty file"
        return _png_damage(file) if head == _PNG_SIGNATURE else None


def _png_damage(file: BinaryIO) -> str | None:
    """Walk the chunks after the signature: each whole with its CRC right, up to ``IEND``."""
    offset = len(_PNG_SIGNATURE)
    while True:
        header = file.read(8)
        if len(header) < 8:
            return "truncated PNG (it ends before its IEND chunk)"
        length, kind = struct.unpack(">I4s", header)
        name = kind.decode("latin-1")
        # Read in pieces: a damaged length field must not ask for gigabytes at once.
        crc = zlib.crc32(kind)
        left = length
        while left > 0:
            piece = file.read(min(left, 1 << 20))
            if not piece:
                return f"truncated PNG (its {name} chunk at byte {offset} is cut short)"
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
        stored = file.read(4)
        if len(stored) < 4:
            return f"truncated PNG (its {name} chunk at byte {offset} is cut short)"
        if struct.unpack(">I", stored)[0] != crc:
            return f"corrupt PNG (CRC error in its {name} chunk at byte {offset})"
        if kind == b"IEND":
            return None
        offset += 12 + length


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of :func:`read` (``(H, W, C)``, native type, alpha as stored)."""
    return read(path).pixels


def write_image(
    path: str | os.PathLike[str], array: np.ndarray, *, premultiplied: bool = True
) -> None:
    """Write ``array`` (``(H, W, C)``, row 0 at the top) to ``path``, atomically.

    The format comes from the extension (see the module table). The file appears complete or not
    at all (:mod:`neuralstyle.io.atomic`): the image goes to a temporary file in the same folder,
    is flushed to disk and renamed over ``path``; on failure the temporary file is removed.

    Args:
        path: the file to write; its folder must exist (a missing one is named in the error).
        array: uint8, uint16, float16 or float32 pixels; 1 (grey), 2 (grey, alpha), 3 or 4
            channels.
        premultiplied: whether the colour of ``array`` is premultiplied by alpha.

    Raises:
        InputError: the array is not an image.
        ImageIOError: an unknown extension, a format that cannot hold the image (alpha in JPEG),
            or the file could not be written.
    """
    target = Path(path)
    pixels, straight, fmt = _for_format(array, premultiplied, target)
    problem = folder_problem(target)
    if problem is not None:
        raise ImageIOError(f"cannot write {target}: {problem}")

    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, _oiio_type(pixels.dtype))
    if channels <= 2:
        spec.channelnames = ("Y", "A")[:channels]
        spec.alpha_channel = 1 if channels == 2 else -1
    if straight:
        spec.attribute(_UNASSOCIATED, 1)  # already straight: OIIO must not unpremultiply again
    for key, value in fmt.attributes:
        spec.attribute(key, value)

    write_pixels(target, spec, pixels)


def write_pixels(
    target: Path,
    spec: oiio.ImageSpec,
    pixels: np.ndarray,
    *,
    before_rename: Callable[[Path], object] | None = None,
) -> None:
    """Write ``pixels`` as ``spec`` describes them to ``target`` through OpenImageIO, atomically
    (:func:`neuralstyle.io.atomic.atomic_target`). The format comes from the extension.

    Args:
        target: the file; its folder must exist.
        spec: size, channels, pixel type and attributes.
        pixels: ``(H, W, C)``, row 0 at the top, already of the type ``spec`` names.
        before_rename: see :func:`~neuralstyle.io.atomic.atomic_target`.

    Raises:
        ImageIOError: ``"cannot write <target>: <reason>"``.
    """
    with atomic_target(target, before_rename=before_rename) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None:
            raise ImageIOError(f"cannot write {target}: {_reason(oiio.geterror())}")
        ok = out.open(str(tmp), spec) and out.write_image(np.ascontiguousarray(pixels))
        error = "" if ok else out.geterror()
        ok = out.close() and ok
        if not ok:
            raise ImageIOError(f"cannot write {target}: {_reason(error or out.geterror())}")


def check_format(path: str | os.PathLike[str], channels: int) -> None:
    """Check that :func:`write_image` can write a ``channels``-channel image as ``path``.

    Raises:
        ImageIOError: an unknown extension, or alpha (2 or 4 channels) into JPEG.
    """
    _format(Path(path), channels in (2, 4))


def _format(target: Path, has_alpha: bool) -> _Format:
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ImageIOError(f"cannot write {target}: unknown format (extensions: {known})")
    if has_alpha and fmt.alpha == "none":
        raise ImageIOError(f"cannot write {target}: the format has no alpha channel")
    return fmt


def _for_format(
    array: np.ndarray, premultiplied: bool, target: Path
) -> tuple[np.ndarray, bool, _Format]:
    """The pixels converted to what ``target``'s format stores, whether their alpha is straight,
    and the format."""
    if not isinstance(array, np.ndarray) or array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        shape = getattr(array, "shape", None)
        raise InputError(f"expected an image array of shape (H, W, C), C <= 4, got {shape}")
    if array.dtype.name not in ("uint8", "uint16", "float16", "float32"):
        raise InputError(f"expected uint8, uint16, float16 or float32 pixels, got {array.dtype}")
    has_alpha = array.shape[2] in (2, 4)
    fmt = _format(target, has_alpha)

    if array.dtype.name in fmt.dtypes:
        dtype = array.dtype
    elif array.dtype.kind == "f":
        dtype = np.dtype(fmt.float_to)
    elif fmt.dtypes[0] == "float16":  # integers into EXR
        dtype = np.dtype("float16" if array.dtype == np.uint8 else "float32")
    else:
        dtype = np.dtype(fmt.dtypes[0])

    straight = has_alpha and not premultiplied
    if fmt.alpha == "premultiplied":
        want_straight = False
    elif fmt.alpha == "straight":
        want_straight = has_alpha
    else:
        want_straight = straight
    if dtype == array.dtype and want_straight == straight:
        return array, straight, fmt
    converted = convert(
        array, dtype, premultiplied=not straight, to_premultiplied=not want_straight
    )
    return converted, want_straight, fmt


def as_colour(pixels: np.ndarray) -> np.ndarray:
    """Grey files become RGB (grey and alpha become RGBA): the engine's one-channel images are
    alpha-only, which it passes through."""
    channels = pixels.shape[2]
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if channels == 2:
        return pixels[..., [0, 0, 0, 1]]
    return pixels


def convert(
    array: np.ndarray,
    dtype: np.dtype | str,
    *,
    premultiplied: bool = True,
    to_premultiplied: bool = True,
) -> np.ndarray:
    """Change pixel type and alpha association: float pixels are scene-linear, integer pixels
    sRGB-encoded, so moving between the two applies the curve (to colour, never to alpha).
    Integer results are clipped to the type's range and rounded.

    Args:
        array: ``(H, W, C)``; C is 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA).
        dtype: the pixel type wanted.
        premultiplied: whether the colour of ``array`` is premultiplied by alpha.
        to_premultiplied: whether the result's colour should be.
    """
    # Not at module level: torch (about 1 s, -X importtime) must not load with this module,
    # which the farm imports (through io.plates) before it picks the GPU.
    import torch

    from neuralstyle.pixel_encoding import full_scale, srgb_decode, srgb_encode

    target = np.dtype(dtype)
    values = torch.from_numpy(array.astype(np.float32)) / full_scale(array.dtype)
    colours = values.shape[2] if values.shape[2] in (1, 3) else values.shape[2] - 1
    colour_part, alpha = values[..., :colours], values[..., colours:]
    if premultiplied:
        colour_part = _associate(colour_part, alpha, inverse=True)
    if array.dtype.kind == "f" and target.kind != "f":
        colour_part = srgb_encode(colour_part.clamp(0.0, 1.0))
    elif array.dtype.kind != "f" and target.kind == "f":
        colour_part = srgb_decode(colour_part)
    if to_premultiplied:
        colour_part = _associate(colour_part, alpha, inverse=False)
    values = torch.cat([colour_part, alpha], dim=2)
    if target.kind != "f":
        values = (values.clamp(0.0, 1.0) * full_scale(target)).round()
    return values.numpy().astype(target)


def _associate(colour_part: Tensor, alpha: Tensor, *, inverse: bool) -> Tensor:
    """Premultiply (or with ``inverse`` unpremultiply) ``(H, W, n)`` colour by ``(H, W, 0|1)``."""
    from neuralstyle.pixel_encoding import alpha_divisor  # torch: see convert()

    if alpha.shape[-1] == 0:
        return colour_part
    divisor = alpha_divisor(alpha)
    return colour_part / divisor if inverse else colour_part * divisor


def _oiio_type(dtype: np.dtype) -> str:
    return {"uint8": "uint8", "uint16": "uint16", "float16": "half", "float32": "float"}[dtype.name]


def _reason(message: str, default: str = "unknown error") -> str:
    """The first line of an OIIO error message (they can span several)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else default
