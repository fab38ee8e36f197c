"""The Python API: the node's render as a function of a numpy image or a torch tensor.

It builds the same :class:`~neuralstyle.engine.request.StyleRequest` as the plugin and the CLI and
runs the same :func:`~neuralstyle.engine.render.render_frame`, so equal settings give equal bits.

numpy images are the node's frames: ``(H, W, C)``, float pixels scene-linear. torch tensors follow
torchvision and kornia: ``(C, H, W)`` or ``(B, C, H, W)``, float pixels display-referred (sRGB),
the result on the tensor's device with its dtype and shape. The engine reads a tensor's frames
straight onto the device it runs on and writes its result straight into the returned tensor
(:class:`~neuralstyle.engine.frames.TensorPixels`): no numpy staging, no host round trip for a
CUDA tensor.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from neuralstyle.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from neuralstyle.engine.frames import Rect
    from neuralstyle.engine.render import Stylist
    from neuralstyle.models.styles import Style

__all__ = ["Colour", "styles", "stylize"]

#: How float pixels are encoded: display-referred sRGB, or scene-linear (the node's frames).
Colour = Literal["srgb", "linear"]
#: A numpy image or a torch tensor: :func:`stylize` returns the type it was given.
ImageT = TypeVar("ImageT", np.ndarray, "Tensor")

_CHANNELS = (1, 3, 4)
_COLOURS = ("srgb", "linear")
_DTYPE_NAMES = "uint8, uint16, float16 or float32"
_TENSOR_DTYPES = ("uint8", "uint16", "float16", "bfloat16", "float32", "float64")
_TENSOR_DTYPE_NAMES = "uint8, uint16, float16, bfloat16, float32 or float64"


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
    colour: Colour | None = None,
    premultiplied: bool | None = None,
    device: str = "auto",
    progress: Callable[[float], None] | None = None,
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

    Returns:
        A new array, or a new tensor (not attached to autograd), with the shape and dtype of
        ``image`` and on its device.

    Raises:
        InputError: a bad image, style, mask or setting; the message says what was expected.
        ImageIOError: a style file is missing or is not an image.
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: a network's weights are missing or corrupt.
    """
    import torch

    from neuralstyle.engine.render import Stylist, render_frame
    from neuralstyle.engine.request import StyleRequest

    linear = _scene_linear(colour, isinstance(image, torch.Tensor))
    request = StyleRequest.create(
        _style(style, linear),
        _style(second_style, linear),
        _number(style_blend),
        _number(strength),
        device,
        method=method,
        preserve_colour=preserve_colour,
        stroke_scale=_number(stroke_scale),
        mask_mode=mask_mode,
        seed=_number(seed),
        init=init,
        quality=quality,
        style_weight=_number(style_weight),
        steps=_number(steps),
    )
    if isinstance(image, torch.Tensor):
        _check_tensor(image)
        channels, floats = image.shape[-3], image.is_floating_point()
    else:
        _check_image(image)
        channels, floats = image.shape[2], image.dtype.kind == "f"
    if colour == "linear" and not floats:
        raise InputError(
            "colour linear is for float pixels; integer pixels are display-referred: pass "
            "colour='srgb' or leave it out"
        )
    render = functools.partial(
        render_frame,
        premultiplied=_premultiplied(premultiplied) and channels == 4,
        render_scale=_render_scale(render_scale),
        frame_size=_frame_size(frame_size),  # the Stylist checks it against the image
        scene_linear=linear,
    )
    if isinstance(image, torch.Tensor):
        stylist = Stylist(request, _tensor_device(image, request.device))
        # A tensor on another GPU than the current one: make it current for the engine's kernels.
        gpu = torch.cuda.device(image.device) if image.is_cuda else contextlib.nullcontext()
        with gpu:
            return _stylize_tensor(image, mask, stylist, render, progress)
    return _stylize_array(image, mask, Stylist(request), render, progress)


def styles() -> tuple[Style, ...]:
    """The built-in styles in index order (``index``, ``name``, ``description``)."""
    from neuralstyle.models.styles import all_styles

    return all_styles()


_Render = Callable[..., None]  # render_frame with the settings every frame shares


def _stylize_array(
    image: np.ndarray,
    mask: object,
    stylist: Stylist,
    render: _Render,
    progress: Callable[[float], None] | None,
) -> np.ndarray:
    from neuralstyle.engine.frames import CpuPixels, Rect

    height, width, _ = image.shape
    mask_pixels = None if mask is None else CpuPixels(_mask_view(mask, (height, width)))
    out = np.empty(image.shape, dtype=image.dtype)
    rect = Rect.of_shape(height, width)
    render(
        CpuPixels(image),
        rect,
        CpuPixels(out),
        rect,
        stylist,
        mask=mask_pixels,
        mask_rect=rect,
        progress=progress,
    )
    return out


def _stylize_tensor(
    image: Tensor,
    mask: object,
    stylist: Stylist,
    render: _Render,
    progress: Callable[[float], None] | None,
) -> Tensor:
    """Each frame of a ``(C, H, W)`` or ``(B, C, H, W)`` tensor, rendered alone, in place."""
    import torch

    from neuralstyle.engine.frames import Rect, TensorPixels

    out = torch.empty_like(image, requires_grad=False)
    frames, outs = (image.detach(), out) if image.dim() == 4 else (image.detach()[None], out[None])
    count, channels, height, width = frames.shape
    masks = _tensor_masks(mask, frames.shape)
    rect = Rect.of_shape(height, width)
    for b in range(count):
        frame_mask = None if masks is None else TensorPixels(masks[min(b, len(masks) - 1)])
        render_one = functools.partial(
            render,
            stylist=stylist,
            mask=frame_mask,
            mask_rect=rect,
            progress=_batch_progress(progress, b, count),
        )
        if channels == 1:
            _stylize_grey(frames[b, 0], outs[b, 0], rect, render_one)
        else:
            source, target = frames[b].permute(1, 2, 0), outs[b].permute(1, 2, 0)
            render_one(TensorPixels(source), rect, TensorPixels(target), rect)
    return out


def _stylize_grey(grey: Tensor, out: Tensor, rect: Rect, render: _Render) -> None:
    """Stylise ``(H, W)`` grey as the RGB image ``(g, g, g)`` and store its luma in ``out``.

    The luma is taken of the change only (``g + Y(rgb - g)``), so pixels the render left alone
    (mask 0, strength 0) come back bit-exactly.
    """
    import torch

    from neuralstyle.controls.colour import luminance
    from neuralstyle.engine.frames import TensorPixels

    height, width = grey.shape
    rgb = torch.empty((height, width, 3), dtype=torch.float32, device=grey.device)
    render(TensorPixels(grey[..., None].expand(height, width, 3)), rect, TensorPixels(rgb), rect)
    source = grey.to(torch.float32)
    change = luminance((rgb.permute(2, 0, 1) - source)[None])[0, 0]
    value = torch.where(change == 0, source, source + change)
    if not grey.is_floating_point():
        value = value.round().clamp(0.0, float(torch.iinfo(grey.dtype).max))
    out.copy_(value)


def _check_image(image: object) -> None:
    from neuralstyle.engine.frames import DTYPES

    if not isinstance(image, np.ndarray):
        raise InputError(
            "expected a numpy array of shape (H, W, C) or a torch tensor of shape (C, H, W), "
            f"got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[2] not in _CHANNELS:
        raise InputError(
            f"expected an image of shape (H, W, C) with C = 1, 3 or 4, got shape {image.shape}"
        )
    if image.dtype not in DTYPES:
        raise InputError(f"expected {_DTYPE_NAMES} pixels, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"the image is empty (shape {image.shape})")


def _check_tensor(image: Tensor) -> None:
    from neuralstyle.tensor_words import dtype_name

    shape = tuple(image.shape)
    if image.dim() not in (3, 4) or image.shape[-3] not in _CHANNELS:
        raise InputError(
            "expected a tensor of shape (C, H, W) or (B, C, H, W) with C = 1, 3 or 4, "
            f"got shape {shape}"
        )
    dtype = dtype_name(image.dtype)
    if dtype not in _TENSOR_DTYPES:
        raise InputError(f"expected {_TENSOR_DTYPE_NAMES} pixels, got {dtype}")
    if image.numel() == 0:
        raise InputError(f"the image is empty (shape {shape})")


def _render_scale(value: object) -> float:
    scale = _number(value)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 < scale <= 1.0:
        raise InputError(f"render_scale must be in (0, 1], got {value!r}")
    return float(scale)


def _premultiplied(value: object) -> bool:
    """Whether RGBA colour is premultiplied: ``value``, or True for None (as compositors)."""
    flag = _number(value)
    if flag is not None and not isinstance(flag, bool):
        raise InputError(f"premultiplied must be True, False or None, got {value!r}")
    return flag is not False


def _scene_linear(colour: object, is_tensor: bool) -> bool:
    """Whether float pixels are scene-linear: ``colour``, or the input type's convention."""
    if colour is None:
        return not is_tensor
    if not isinstance(colour, str) or colour not in _COLOURS:
        raise InputError(f"colour must be one of {', '.join(_COLOURS)}, got {colour!r}")
    return colour == "linear"


def _tensor_device(image: Tensor, device: str) -> torch.device | None:
    """Where a tensor is stylised: on its own GPU unless the CPU is asked for; None: as the
    request's device says."""
    return image.device if image.is_cuda and device != "cpu" else None


def _batch_progress(
    progress: Callable[[float], None] | None, frame: int, count: int
) -> Callable[[float], None] | None:
    """``progress`` told the fraction of the whole batch done while frame ``frame`` renders."""
    if progress is None or count == 1:
        return progress
    report = progress
    return lambda done: report((frame + done) / count)


def _number(value: object) -> Any:
    """A numpy scalar, 0-d array or 0-d tensor of a number or bool as the Python value it holds
    (what the request's checks take); anything else unchanged, for those checks to judge (hence
    ``Any``)."""
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return value.item() if np.asarray(value).dtype.kind in "biuf" else value
    import torch

    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_complex():
        return value.item()
    return value


def _frame_size(frame_size: object) -> Any:
    """``frame_size`` with numpy or torch integers as Python ints (checked by the Stylist)."""
    if isinstance(frame_size, (tuple, list)) or (
        isinstance(frame_size, np.ndarray) and frame_size.ndim == 1
    ):
        return tuple(_number(v) for v in frame_size)
    return frame_size


def _style(value: object, linear: bool) -> object:
    """A style as the request takes it: a tensor becomes an ``(H, W, C)`` array; a float sRGB
    array is decoded to the scene-linear floats the request reads; a number becomes a Python
    number."""
    import torch

    if isinstance(value, torch.Tensor) and value.dim() > 0:
        value = _style_array(value)
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if linear or value.dtype not in (np.float16, np.float32):
            return value
        from neuralstyle.pixel_encoding import srgb_decode

        return srgb_decode(torch.from_numpy(value.astype(np.float32))).numpy()
    return _number(value)


def _style_array(style: Tensor) -> np.ndarray:
    """A ``(C, H, W)`` or ``(1, C, H, W)`` style tensor as an ``(H, W, C)`` array on the CPU."""
    values = style.detach()
    if values.dim() == 4 and values.shape[0] == 1:
        values = values[0]
    if values.dim() != 3:
        raise InputError(
            f"expected a style tensor of shape (C, H, W), got shape {tuple(style.shape)}"
        )
    if values.is_floating_point():
        values = values.float()  # numpy has no bfloat16; the style is read as float32 anyway
    return values.permute(1, 2, 0).cpu().numpy()


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


def _tensor_masks(mask: object, shape: torch.Size) -> Tensor | None:
    """A tensor image's mask as ``(1 or B, H, W, 1)`` views (no copy), or InputError."""
    import torch

    if mask is None:
        return None
    count, _, height, width = shape
    if not isinstance(mask, torch.Tensor):
        raise InputError(
            f"expected the mask as a torch tensor like the image, got {type(mask).__name__}"
        )
    allowed = [(height, width), (1, height, width), (1, 1, height, width)]
    if count > 1:
        allowed.append((count, 1, height, width))
    if tuple(mask.shape) not in allowed:
        raise InputError(
            f"expected a mask of shape {' or '.join(str(s) for s in allowed)} to match the "
            f"image, got {tuple(mask.shape)}"
        )
    from neuralstyle.tensor_words import dtype_name

    dtype = dtype_name(mask.dtype)
    if dtype not in _TENSOR_DTYPES:
        raise InputError(f"expected {_TENSOR_DTYPE_NAMES} mask values, got {dtype}")
    planes = mask.detach()
    planes = {2: planes[None], 3: planes, 4: planes[:, 0]}[planes.dim()]
    return planes[..., None]
