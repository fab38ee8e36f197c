"""Style images: a painting (any file OpenImageIO reads, or an array) as the RGB picture the
arbitrary-style methods take.

A style image is a picture, not a plate: integer files are display-referred, float files
(EXR, float TIFF) scene-linear and sRGB-encoded here; alpha is dropped (the straight colour is
used); grey becomes RGB; 16-bit files keep their precision. Files are checked from their header
before any pixel is decoded, so a huge file fails fast instead of filling memory.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from neuralstyle.errors import InputError
from neuralstyle.io.images import cannot_read, open_image, read
from neuralstyle.pixel_encoding import srgb_encode

__all__ = [
    "MAX_STYLE_PIXELS",
    "MIN_STYLE_SIDE",
    "check_style_file",
    "read_style_file",
    "style_pixels",
]

#: Smallest side a style image may have: VGG-19's relu4_1 sees 1/8 of it.
MIN_STYLE_SIDE = 16
#: Largest style image (pixels): 8K x 8K. Styles are resized to the frame anyway; bigger files
#: are almost always a mistake (a scan at print resolution) and decoding them costs gigabytes.
MAX_STYLE_PIXELS = 8192 * 8192
_DTYPES = ("uint8", "uint16", "float16", "float32")


def check_style_file(path: str | os.PathLike[str]) -> None:
    """Check a style file from its header: it exists, is an image, is RGB(A)/grey of a sane size.
    Damaged pixels show when they are decoded (:func:`read_style_file`).

    Raises:
        ImageIOError: missing, empty, unreadable, a damaged PNG, or not an image.
        InputError: too small, too large, or CMYK (its naive conversion would shift the colours).
    """
    name = os.fspath(path)
    with open_image(name, cannot_read(name, "style image")) as image:
        spec = image.spec()
    for key in ("jpeg:ColorSpace", "tiff:ColorSpace", "psd:ColorMode"):
        if str(spec.getattribute(key) or "").upper() == "CMYK":
            raise InputError(
                f"style image {name} is CMYK; convert it to RGB first (without its colour "
                "profile the conversion would shift the painting's colours)"
            )
    _check_size(name, spec.height, spec.width)


def read_style_file(path: str | os.PathLike[str]) -> np.ndarray:
    """A style file's pixels as :func:`style_pixels` gives them, checked and decoded in full.

    Raises:
        ImageIOError: as :func:`check_style_file`, or a truncated or corrupt file; every message
            says ``style image`` and names the file.
        InputError: as :func:`check_style_file` and :func:`style_pixels`.
    """
    check_style_file(path)
    name = os.fspath(path)
    return style_pixels(read(name, "style image").pixels, f"style image {name}")


def style_pixels(image: np.ndarray, name: str = "the style image") -> np.ndarray:
    """An image array as a style: ``(H, W, 3)`` float32 RGB in [0, 1], display-referred.

    Args:
        image: ``(H, W)`` or ``(H, W, C)``, C in {1, 2, 3, 4} (grey, grey + alpha, RGB, RGBA;
            alpha straight or premultiplied, only the colour is used); uint8, uint16, float16 or
            float32 (float: scene-linear).
        name: what error messages call it.

    Raises:
        InputError: a wrong shape or type, too small, too large, NaN or infinite values.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name} must be a numpy array or a file path, got {type(image).__name__}")
    pixels = image[:, :, None] if image.ndim == 2 else image
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{name} must have shape (H, W) or (H, W, C), C <= 4; got {image.shape}")
    if pixels.dtype.name not in _DTYPES:
        raise InputError(f"{name} must be uint8, uint16, float16 or float32, got {pixels.dtype}")
    _check_size(name, pixels.shape[0], pixels.shape[1])
    colour = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    if pixels.dtype.kind == "f":
        linear = colour.astype(np.float32)
        if not np.isfinite(linear).all():
            raise InputError(f"{name} has NaN or infinite values")
        values = srgb_encode(torch.from_numpy(linear).clamp(0.0, 1.0)).numpy()
    else:
        values = colour.astype(np.float32) / float(np.iinfo(colour.dtype).max)
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(values, dtype=np.float32)


def _check_size(name: str, height: int, width: int) -> None:
    if min(height, width) < MIN_STYLE_SIDE:
        raise InputError(
            f"{name} is {width}x{height}; a style image needs at least "
            f"{MIN_STYLE_SIDE}x{MIN_STYLE_SIDE} pixels"
        )
    if height * width > MAX_STYLE_PIXELS:
        raise InputError(
            f"{name} is {width}x{height} ({height * width / 1e6:.0f} Mpx); style images are "
            f"limited to {MAX_STYLE_PIXELS / 1e6:.0f} Mpx: resize it (it is scaled to the frame "
            "anyway)"
        )
