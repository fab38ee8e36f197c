"""The Python API: the node's render as a function of a numpy image.

It builds the same :class:`~neuralstyle.engine.request.StyleRequest` as the plugin and the CLI and
runs the same :func:`~neuralstyle.engine.render.render_frame`, so equal settings give equal bits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    style: str | int | os.PathLike[str] | np.ndarray = 0,
    *,
    method: str | None = None,
    strength: float = 1.0,
    second_style: str | int | os.PathLike[str] | np.ndarray | None = None,
    style_blend: float = 0.5,
    mask: np.ndarray | None = None,
    mask_mode: str = "strength",
    preserve_colour: str = "none",
    stroke_scale: float = 1.0,
    render_scale: float = 1.0,
    frame_size: tuple[int, int] | None = None,
    seed: int | None = None,
    init: str | None = None,
    quality: str | None = None,
    style_weight: float | None = None,
    steps: int | None = None,
    premultiplied: bool | None = None,
    device: str = "auto",
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Stylise ``image`` as the OpenFX node does.

    Float pixels are scene-linear (values above 1 and below 0 survive); uint8 and uint16 pixels
    are display-referred (sRGB-encoded). Alpha passes through bit-exactly; an alpha-only image
    (C = 1) comes back unchanged, and so does any image at ``strength=0``.

    Args:
        image: ``(H, W, C)``, row 0 at the top, C in {1, 3, 4} (alpha, RGB, RGBA); uint8, uint16,
            float16 or float32. H and W at least 5 (16 for ``adain`` and ``optimize``).
        style: a built-in style name or index (:func:`styles` lists them), or any painting: an
            image file path or an ``(H, W, C)`` array (uint8/uint16 display-referred, float
            scene-linear).
        method: ``"builtin"`` (the 26 styles, feed-forward), ``"adain"`` (any image, fast,
            Huang & Belongie 2017) or ``"optimize"`` (any image, best, Gatys et al. 2016).
            None: ``builtin`` for a built-in style, ``adain`` for an image.
        strength: 0 returns ``image`` bit-exactly, 1 applies the full style (for ``adain`` it
            is the paper's feature-space alpha; for the others a mix of pictures).
        second_style: a style to blend towards (built-in styles mix their networks, images their
            statistics or Gram matrices), or with ``mask_mode="styles"`` the style outside the
            mask.
        style_blend: weight of ``second_style`` in [0, 1]; ignored without one.
        mask: ``(H, W)`` or ``(H, W, 1)``, float in [0, 1] (uint8/uint16 masks are normalised).
        mask_mode: ``"strength"``: 0 keeps the source, 1 applies ``strength`` fully (soft masks
            blend). ``"styles"``: 1 paints with ``style``, 0 with ``second_style``.
        preserve_colour: ``"none"``, ``"luminance"`` (stylise luminance only, keep the content's
            chroma) or ``"histogram"`` (recolour the style to the content's colours first; not
            for the built-in styles).
        stroke_scale: stroke size on the frame relative to the painting's own (2: twice as
            large), from 0.1 to 10.
        render_scale: which fraction of the full resolution ``image`` is (a proxy); strokes keep
            their size on the frame, so a proxy looks like the full render downsampled.
        frame_size: ``(H, W)`` of the full-resolution frame ``image`` is a proxy of (default:
            its size over ``render_scale``, rounded; give it when the frame's sides need not
            be even: a proxy alone does not tell 1080x1919 from 1080x1920).
        seed, init, quality, style_weight, steps: ``optimize`` only: the noise seed (default 0),
            ``"content"`` (default) or ``"noise"`` start, ``"draft"``, ``"standard"`` (default)
            or ``"high"`` (60, 200, 500 evaluations per pyramid level), the style loss weight
            (default 30; higher is more stylised), or an explicit number of evaluations.
        premultiplied: whether RGBA colour is premultiplied by alpha. None assumes premultiplied,
            as compositors and EXR files store it (PNG files hold straight alpha: pass False).
            Ignored for RGB and alpha-only images.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        progress: called with the fraction done (optimisation); raise from it to abort.

    Returns:
        A new array with the shape and dtype of ``image``.

    Raises:
        InputError: a bad image, style, mask or setting; the message says what was expected.
        ImageIOError: a style file is missing or is not an image.
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: a network's weights are missing or corrupt.
    """
    from neuralstyle.engine.frames import CpuPixels, Rect
    from neuralstyle.engine.render import Stylist, render_frame
    from neuralstyle.engine.request import StyleRequest

    request = StyleRequest.create(
        style,
        second_style,
        style_blend,
        strength,
        device,
        method=method,
        preserve_colour=preserve_colour,
        stroke_scale=stroke_scale,
        mask_mode=mask_mode,
        seed=seed,
        init=init,
        quality=quality,
        style_weight=style_weight,
        steps=steps,
    )
    _check_image(image)
    if (
        isinstance(render_scale, bool)
        or not isinstance(render_scale, (int, float))
        or not (0.0 < float(render_scale) <= 1.0)
    ):
        raise InputError(f"render_scale must be in (0, 1], got {render_scale!r}")
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
        render_scale=float(render_scale),
        frame_size=frame_size,  # the Stylist checks it against the image (frame_size_of)
        progress=progress,
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
