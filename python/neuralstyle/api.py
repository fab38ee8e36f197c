"""The Python API: the node's render as a function of a numpy image or a torch tensor.

It builds the same :class:`~neuralstyle.engine.request.StyleRequest` as the plugin and the CLI and
runs the same :func:`~neuralstyle.engine.pipeline.render_frame`, so equal settings give equal bits.

numpy images are the node's frames: ``(H, W, C)``, float pixels scene-linear. torch tensors follow
torchvision and kornia: ``(C, H, W)`` or ``(B, C, H, W)``, float pixels display-referred (sRGB),
the result on the tensor's device with its dtype and shape. The engine reads a tensor's frames
straight onto the device it runs on and writes its result straight into the returned tensor
(:class:`~neuralstyle.engine.pixels.TensorPixels`): no numpy staging, no host round trip for a
CUDA tensor. How arrays and tensors are checked, converted and rendered:
:mod:`neuralstyle._api_arrays`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from neuralstyle.engine.request import StyleRequest
from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from torch import Tensor

    from neuralstyle.models.styles import Style

__all__ = ["Colour", "styles", "stylize"]

#: How float pixels are encoded: display-referred sRGB, or scene-linear (the node's frames).
Colour = Literal["srgb", "linear"]
#: A numpy image or a torch tensor: :func:`stylize` returns the type it was given.
ImageT = TypeVar("ImageT", np.ndarray, "Tensor")


def stylize(
    image: ImageT,
    style: str | int | os.PathLike[str] | np.ndarray | Tensor = 0,
    *,
    method: str | None = None,
    strength: float = 1.0,
    second_style: str | int | os.PathLike[str] | np.ndarray | Tensor | None = None,
    style_blend: float = 0.5,
    mask: np.ndarray | Tensor | None = None,
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
    working_resolution: float | None = None,
    colour: Colour | None = None,
    premultiplied: bool | None = None,
    device: str = "auto",
    progress: Callable[[float], None] | None = None,
    start: np.ndarray | None = None,
) -> ImageT:
    """Stylise ``image`` as the OpenFX node does.

    Alpha passes through bit-exactly, and so does any image at ``strength=0``. Numbers may be
    Python numbers, numpy scalars or 0-d arrays and tensors (``strength=np.float32(0.5)``);
    booleans are not numbers.

    Args:
        image: a numpy array ``(H, W, C)``, row 0 at the top, C in {1, 3, 4} (alpha, RGB, RGBA;
            an alpha-only image comes back unchanged, as from the node); uint8, uint16, float16
            or float32. Or a torch tensor ``(C, H, W)`` or ``(B, C, H, W)`` on any device, C in
            {1, 3, 4} (grey, RGB, RGBA, as in kornia: grey is stylised as the RGB image
            ``(g, g, g)`` and the result turned back to grey by its luma ``0.299 R + 0.587 G +
            0.114 B``, rounded for integers); uint8, uint16, float16, bfloat16, float32 or
            float64; a batch is rendered frame by frame, each frame as alone. H and W at least 5
            (16 for ``adain`` and ``optimize``).
        style: a built-in style name or index (:func:`styles` lists them), or any painting: an
            image file path, an ``(H, W, C)`` array or a ``(C, H, W)`` tensor (integers
            display-referred, floats as ``colour`` says).
        method: ``"builtin"`` (the 26 styles, feed-forward), ``"adain"`` (any image, fast,
            Huang & Belongie 2017) or ``"optimize"`` (any image, best, Gatys et al. 2016).
            None: ``builtin`` for a built-in style, ``adain`` for an image.
        strength: 0 returns ``image`` bit-exactly, 1 applies the full style (for ``adain`` it
            is the paper's feature-space alpha; for the others a mix of pictures).
        second_style: a style to blend towards (built-in styles mix their networks, images their
            statistics or Gram matrices), or with ``mask_mode="styles"`` the style outside the
            mask.
        style_blend: weight of ``second_style`` in [0, 1]; ignored without one.
        mask: for an array, an array ``(H, W)`` or ``(H, W, 1)``; for a tensor, a tensor
            ``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)`` (one per frame), any device. Float in
            [0, 1] (uint8/uint16 masks are normalised).
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
        working_resolution: ``optimize`` only: the fraction of the frame's resolution it runs
            at (0.05 to 1, default 1; 0.5 is about 4x faster), then scaled up; strokes keep
            their size on the frame.
        colour: how float pixels (of ``image`` and of a style array or tensor) are encoded:
            ``"linear"`` (scene-linear, as the node's frames and EXR files: values above 1 and
            below 0 survive) or ``"srgb"`` (display-referred, as torchvision and kornia images
            and as integer pixels always are; strength mixes in that encoding, as for uint8).
            None: ``"linear"`` for numpy arrays, ``"srgb"`` for torch tensors. ``"linear"``
            with an integer image is an error.
        premultiplied: whether RGBA colour is premultiplied by alpha. None assumes premultiplied,
            as compositors and EXR files store it (PNG files hold straight alpha: pass False).
            Ignored for RGB, grey and alpha-only images.
        device: ``"auto"`` (the tensor's GPU for a CUDA tensor, else CUDA when available),
            ``"cpu"`` or ``"cuda"`` (the tensor's GPU for a CUDA tensor). The result is on the
            tensor's device whichever runs it.
        progress: called with the fraction done (optimisation; over the whole batch); raise
            from it to abort.
        start: ``method="optimize"`` only, numpy images only: a picture like ``image`` (same
            shape, dtype and colour) to start the optimisation from instead of the image: a
            warm start, e.g. a shot's previous result moved onto this frame by the optical flow
            (what temporal stability does: :mod:`neuralstyle.temporal.window`).

    Returns:
        A new array, or a new tensor (not attached to autograd), with the shape and dtype of
        ``image`` and on its device.

    Raises:
        InputError: a bad image, style, mask or setting; the message says what was expected.
        ImageIOError: a style file is missing or is not an image.
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: a network's weights are missing or corrupt.
    """
    # torch (about 1 s with -X importtime) loads on the first call, not with this module, so
    # that looking up ``neuralstyle.stylize`` stays cheap (the package docstring promises it).
    import torch

    from neuralstyle import _api_arrays as arrays
    from neuralstyle.engine.pipeline import render_frame
    from neuralstyle.engine.stylist import Stylist

    linear = arrays.scene_linear(colour, isinstance(image, torch.Tensor))
    request = StyleRequest.create(
        arrays.style(style, linear),
        arrays.style(second_style, linear),
        arrays.number(style_blend),
        arrays.number(strength),
        device,
        method=method,
        preserve_colour=preserve_colour,
        stroke_scale=arrays.number(stroke_scale),
        mask_mode=mask_mode,
        seed=arrays.number(seed),
        init=init,
        quality=quality,
        style_weight=arrays.number(style_weight),
        steps=arrays.number(steps),
        working_resolution=arrays.number(working_resolution),
    )
    if isinstance(image, torch.Tensor):
        arrays.check_tensor(image)
        channels, floats = image.shape[-3], image.is_floating_point()
    else:
        arrays.check_image(image)
        channels, floats = image.shape[2], image.dtype.kind == "f"
    if colour == "linear" and not floats:
        raise InputError(
            "colour linear is for float pixels; integer pixels are display-referred: pass "
            "colour='srgb' or leave it out"
        )
    render = functools.partial(
        render_frame,
        premultiplied=arrays.premultiplied(premultiplied) and channels == 4,
        render_scale=arrays.render_scale(render_scale),
        frame_size=arrays.frame_size(frame_size),  # the Stylist checks it against the image
        scene_linear=linear,
    )
    if isinstance(image, torch.Tensor):
        if start is not None:
            raise InputError("start is for numpy images; pass the tensor's frames as arrays")
        stylist = Stylist(request, arrays.tensor_device(image, request.device))
        # A tensor on another GPU than the current one: make it current for the engine's kernels.
        gpu = torch.cuda.device(image.device) if image.is_cuda else contextlib.nullcontext()
        with gpu:
            return arrays.stylize_tensor(image, mask, stylist, render, progress)
    if start is not None:
        from neuralstyle.engine.pixels import CpuPixels

        arrays.check_image(start)
        render = functools.partial(render, start=CpuPixels(start))
    return arrays.stylize_array(image, mask, Stylist(request), render, progress)


def styles() -> tuple[Style, ...]:
    """The built-in styles in index order (``index``, ``name``, ``description``)."""
    from neuralstyle.models.styles import all_styles  # loads torch: see stylize

    return all_styles()
