"""Image files through OpenImageIO: read in the native pixel type, write atomically.

Arrays are ``(H, W, C)`` with row 0 at the top. Pixels are kept as stored: integer files are
display-referred, float files scene-linear, and alpha stays associated (premultiplied) or straight
as the file holds it (:class:`ImageFile` says which), so reading and writing back changes nothing.

Writing converts only what the target format cannot hold (all colour arithmetic is in
:mod:`neuralstyle.engine.colour`):

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
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuralstyle.errors import ImageIOError, InputError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["FORMATS", "ImageFile", "convert", "read", "read_image", "write_image"]


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


def read(path: str | os.PathLike[str]) -> ImageFile:
    """Read the first subimage of ``path`` (at most four channels) in its native pixel type.

    Types other than uint8, uint16, half and float are read as float32.

    Raises:
        ImageIOError: the file is missing, unreadable or not an image (one line, naming the file).
    """
    import OpenImageIO as oiio  # noqa: N813  # the library's own spelling

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ImageIOError(f"cannot read {name}: no such file")
    config = oiio.ImageSpec()
    config.attribute(_UNASSOCIATED, 1)  # keep straight alpha as stored: no rounding on read
    image = oiio.ImageInput.open(name, config)
    if image is None:
        raise ImageIOError(f"cannot read {name}: {_reason(oiio.geterror())}")
    try:
        spec = image.spec()
        native = str(spec.format)
        channels = min(spec.nchannels, 4)
        pixels = image.read_image(0, 0, 0, channels, native if native in _NATIVE else "float")
        if pixels is None:
            raise ImageIOError(f"cannot read {name}: {_reason(image.geterror())}")
        premultiplied = spec.get_int_attribute(_UNASSOCIATED, 0) == 0
    except (RuntimeError, ValueError) as exc:
        raise ImageIOError(f"cannot read {name}: {_reason(str(exc))}") from exc
    finally:
        image.close()
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return ImageFile(np.ascontiguousarray(pixels), premultiplied)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of :func:`read` (``(H, W, C)``, native type, alpha as stored)."""
    return read(path).pixels


def write_image(
    path: str | os.PathLike[str], array: np.ndarray, *, premultiplied: bool = True
) -> None:
    """Write ``array`` (``(H, W, C)``, row 0 at the top) to ``path``, atomically.

    The format comes from the extension (see the module table). The file appears complete or not
    at all: the image goes to a temporary file in the same folder, is flushed to disk and renamed
    over ``path``; on failure the temporary file is removed.

    Args:
        path: the file to write; its folder must exist.
        array: uint8, uint16, float16 or float32 pixels; 1 (grey), 2 (grey, alpha), 3 or 4
            channels.
        premultiplied: whether the colour of ``array`` is premultiplied by alpha.

    Raises:
        InputError: the array is not an image.
        ImageIOError: an unknown extension, a format that cannot hold the image (alpha in JPEG),
            or the file could not be written.
    """
    import OpenImageIO as oiio  # noqa: N813  # the library's own spelling

    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ImageIOError(f"cannot write {target}: unknown format (extensions: {known})")
    pixels, straight = _for_format(array, premultiplied, fmt, target)

    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, _oiio_type(pixels.dtype))
    if channels <= 2:
        spec.channelnames = ("Y", "A")[:channels]
        spec.alpha_channel = 1 if channels == 2 else -1
    if straight:
        spec.attribute(_UNASSOCIATED, 1)  # already straight: OIIO must not unpremultiply again
    for key, value in fmt.attributes:
        spec.attribute(key, value)

    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}")
    try:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None:
            raise ImageIOError(f"cannot write {target}: {_reason(oiio.geterror())}")
        ok = out.open(str(tmp), spec) and out.write_image(np.ascontiguousarray(pixels))
        error = "" if ok else out.geterror()
        ok = out.close() and ok
        if not ok:
            raise ImageIOError(f"cannot write {target}: {_reason(error or out.geterror())}")
        _fsync(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise ImageIOError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _for_format(
    array: np.ndarray, premultiplied: bool, fmt: _Format, target: Path
) -> tuple[np.ndarray, bool]:
    """The pixels converted to what ``fmt`` stores, and whether their alpha is straight."""
    if not isinstance(array, np.ndarray) or array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        shape = getattr(array, "shape", None)
        raise InputError(f"expected an image array of shape (H, W, C), C <= 4, got {shape}")
    if array.dtype.name not in ("uint8", "uint16", "float16", "float32"):
        raise InputError(f"expected uint8, uint16, float16 or float32 pixels, got {array.dtype}")
    has_alpha = array.shape[2] in (2, 4)
    if has_alpha and fmt.alpha == "none":
        raise ImageIOError(f"cannot write {target}: the format has no alpha channel")

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
        return array, straight
    converted = convert(
        array, dtype, premultiplied=not straight, to_premultiplied=not want_straight
    )
    return converted, want_straight


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
    import torch

    from neuralstyle.engine import colour
    from neuralstyle.engine.frames import full_scale

    target = np.dtype(dtype)
    values = torch.from_numpy(array.astype(np.float32)) / full_scale(array.dtype)
    colours = values.shape[2] if values.shape[2] in (1, 3) else values.shape[2] - 1
    colour_part, alpha = values[..., :colours], values[..., colours:]
    if premultiplied:
        colour_part = _associate(colour_part, alpha, inverse=True)
    if array.dtype.kind == "f" and target.kind != "f":
        colour_part = colour.srgb_encode(colour_part.clamp(0.0, 1.0))
    elif array.dtype.kind != "f" and target.kind == "f":
        colour_part = colour.srgb_decode(colour_part)
    if to_premultiplied:
        colour_part = _associate(colour_part, alpha, inverse=False)
    values = torch.cat([colour_part, alpha], dim=2)
    if target.kind != "f":
        values = (values.clamp(0.0, 1.0) * full_scale(target)).round()
    return values.numpy().astype(target)


def _associate(colour_part: Tensor, alpha: Tensor, *, inverse: bool) -> Tensor:
    """Premultiply (or with ``inverse`` unpremultiply) ``(H, W, n)`` colour by ``(H, W, 0|1)``."""
    from neuralstyle.engine import colour

    if alpha.shape[-1] == 0:
        return colour_part
    divisor = colour.alpha_divisor(alpha)
    return colour_part / divisor if inverse else colour_part * divisor


def _oiio_type(dtype: np.dtype) -> str:
    return {"uint8": "uint8", "uint16": "uint16", "float16": "half", "float32": "float"}[dtype.name]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
