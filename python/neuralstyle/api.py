"""The Python API: the node's render as a function of a numpy image.

It builds the same :class:`~neuralstyle.engine.request.StyleRequest` as the plugin and the CLI and
runs the same :func:`~neuralstyle.engine.render.render_frame`, so equal settings give equal bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from neuralstyle.models.styles import Style

__all__ = ["styles", "stylize"]

_CHANNELS = (1, 3, 4)
_DTYPE_NAMES = "uint8, uint16, float16 or float32"


def stylize(
    image: np.ndarray,
    style: str | int = 0,
    *,
    strength: float = 1.0,
    second_style: str | int | None = None,
    style_blend: float = 0.5,
    mask: np.ndarray | None = None,
    premultiplied: bool | None = None,
    device: str = "auto",
) -> np.ndarray:
    """Stylise ``image`` with a built-in style, as the OpenFX node does.

    Float pixels are scene-linear (values above 1 and below 0 survive); uint8 and uint16 pixels
    are display-referred (sRGB-encoded). Alpha passes through bit-exactly; an alpha-only image
    (C = 1) comes back unchanged, and so does any image at ``strength=0``.

    Args:
        image: ``(H, W, C)``, row 0 at the top, C in {1, 3, 4} (alpha, RGB, RGBA); uint8, uint16,
            float16 or float32. H and W at least 5.
        style: a style name or index (:func:`styles` lists them); default the first.
        strength: 0 returns ``image`` bit-exactly, 1 applies the full style.
        second_style: a style to blend towards (the networks mix, not the pictures).
        style_blend: weight of ``second_style`` in [0, 1]; ignored without one.
        mask: ``(H, W)`` or ``(H, W, 1)``, float in [0, 1] (uint8/uint16 masks are normalised):
            0 keeps the source, 1 applies ``strength`` fully.
        premultiplied: whether RGBA colour is premultiplied by alpha. None assumes premultiplied,
            as compositors and EXR files store it (PNG files hold straight alpha: pass False).
            Ignored for RGB and alpha-only images.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.

    Returns:
        A new array with the shape and dtype of ``image``.

    Raises:
        InputError: a bad image, mask or setting; the message says what was expected.
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: the network's weights are missing or corrupt.
    """
    from neuralstyle.engine.frames import CpuPixels, Rect
    from neuralstyle.engine.render import Stylist, render_frame
    from neuralstyle.engine.request import StyleRequest

    request = StyleRequest.create(style, second_style, style_blend, strength, device)
    _check_image(image)
    height, width, channels = image.shape
    if premultiplied is not None and not isinstance(premultiplied, bool):
        raise InputError(f"premultiplied must be True, False or None, got {premultiplied!r}")
    mask_pixels = None if mask is None else CpuPixels(_mask_view(mask, (height, width)))

    out = np.empty(image.shape, dtype=image.dtype)
    rect = Rect.of_shape(height, width)
    render_frame(
        CpuPixels(image),
        rect,
        CpuPixels(out),
        rect,
        Stylist(request),
        premultiplied=channels == 4 and premultiplied is not False,
        mask=mask_pixels,
        mask_rect=rect,
    )
    return out


def styles() -> tuple[Style, ...]:
    """The built-in styles in index order (``index``, ``name``, ``description``)."""
    from neuralstyle.models.styles import all_styles

    return all_styles()


def _check_image(image: object) -> None:
    from neuralstyle.engine.frames import DTYPES

    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy array of shape (H, W, C), got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] not in _CHANNELS:
        raise InputError(
            f"expected an image of shape (H, W, C) with C = 1, 3 or 4, got shape {image.shape}"
        )
    if image.dtype not in DTYPES:
        raise InputError(f"expected {_DTYPE_NAMES} pixels, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"the image is empty (shape {image.shape})")


def _mask_view(mask: object, size: tuple[int, int]) -> np.ndarray:
    """The mask as an ``(H, W, 1)`` view (no copy), or InputError."""
    from neuralstyle.engine.frames import DTYPES

    if not isinstance(mask, np.ndarray):
        raise InputError(f"expected the mask as a numpy array, got {type(mask).__name__}")
    if mask.shape not in (size, (*size, 1)):
        raise InputError(
            f"expected a mask of shape {size} or {(*size, 1)} to match the image, got {mask.shape}"
        )
    if mask.dtype not in DTYPES:
        raise InputError(f"expected {_DTYPE_NAMES} mask values, got {mask.dtype}")
    return mask.reshape(*size, 1)
