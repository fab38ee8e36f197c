"""What :func:`neuralstyle.stylize` does with the caller's numpy arrays and torch tensors.

Images, masks and style images are checked and turned into what the engine takes; numbers that
come as numpy scalars or 0-d arrays and tensors become Python numbers; and each layout is rendered
in place: an array ``(H, W, C)`` as one frame, a tensor ``(C, H, W)`` or ``(B, C, H, W)`` frame by
frame, straight from and into its memory (:class:`~neuralstyle.engine.pixels.TensorPixels`).

:mod:`neuralstyle.api` imports this module on the first call, not at import: it loads torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from neuralstyle.controls.preserve_colour import luminance
from neuralstyle.engine.pixels import DTYPES, CpuPixels, Rect, TensorPixels
from neuralstyle.errors import InputError
from neuralstyle.pixel_encoding import srgb_decode
from neuralstyle.tensor_words import dtype_name

if TYPE_CHECKING:
    from neuralstyle.engine.stylist import Stylist

_CHANNELS = (1, 3, 4)
_COLOURS = ("srgb", "linear")
_DTYPE_NAMES = "uint8, uint16, float16 or float32"
_TENSOR_DTYPES = ("uint8", "uint16", "float16", "bfloat16", "float32", "float64")
_TENSOR_DTYPE_NAMES = "uint8, uint16, float16, bfloat16, float32 or float64"

#: render_frame with the settings every frame shares.
Render = Callable[..., None]
Progress = Callable[[float], None]


# ----------------------------------------------------------------------------- checks


def check_image(image: object) -> None:
    """``image`` is an ``(H, W, C)`` array of a pixel type the node takes, or InputError."""
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


def check_tensor(image: Tensor) -> None:
    """``image`` is a ``(C, H, W)`` or ``(B, C, H, W)`` tensor the API takes, or InputError."""
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


# ----------------------------------------------------------------------------- settings


def number(value: object) -> Any:
    """A numpy scalar, 0-d array or 0-d tensor of a number or bool as the Python value it holds
    (what the request's checks take); anything else unchanged, for those checks to judge (hence
    ``Any``)."""
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return value.item() if np.asarray(value).dtype.kind in "biuf" else value
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_complex():
        return value.item()
    return value


def render_scale(value: object) -> float:
    scale = number(value)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 < scale <= 1.0:
        raise InputError(f"render_scale must be in (0, 1], got {value!r}")
    return float(scale)


def premultiplied(value: object) -> bool:
    """Whether RGBA colour is premultiplied: ``value``, or True for None (as compositors)."""
    flag = number(value)
    if flag is not None and not isinstance(flag, bool):
        raise InputError(f"premultiplied must be True, False or None, got {value!r}")
    return flag is not False


def scene_linear(colour: object, is_tensor: bool) -> bool:
    """Whether float pixels are scene-linear: ``colour``, or the input type's convention."""
    if colour is None:
        return not is_tensor
    if not isinstance(colour, str) or colour not in _COLOURS:
        raise InputError(f"colour must be one of {', '.join(_COLOURS)}, got {colour!r}")
    return colour == "linear"


def frame_size(value: object) -> Any:
    """``value`` with numpy or torch integers as Python ints (checked by the Stylist)."""
    if isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return tuple(number(v) for v in value)
    return value


def tensor_device(image: Tensor, device: str) -> torch.device | None:
    """Where a tensor is stylised: on its own GPU unless the CPU is asked for; None: as the
    request's device says."""
    return image.device if image.is_cuda and device != "cpu" else None


def style(value: object, linear: bool) -> object:
    """A style as the request takes it: a tensor becomes an ``(H, W, C)`` array; a float sRGB
    array is decoded to the scene-linear floats the request reads; a number becomes a Python
    number."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        value = _style_array(value)
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if linear or value.dtype not in (np.float16, np.float32):
            return value
        return srgb_decode(torch.from_numpy(value.astype(np.float32))).numpy()
    return number(value)


def _style_array(tensor: Tensor) -> np.ndarray:
    """A ``(C, H, W)`` or ``(1, C, H, W)`` style tensor as an ``(H, W, C)`` array on the CPU."""
    values = tensor.detach()
    if values.dim() == 4 and values.shape[0] == 1:
        values = values[0]
    if values.dim() != 3:
        raise InputError(
            f"expected a style tensor of shape (C, H, W), got shape {tuple(tensor.shape)}"
        )
    if values.is_floating_point():
        values = values.float()  # numpy has no bfloat16; the style is read as float32 anyway
    return values.permute(1, 2, 0).cpu().numpy()


# ----------------------------------------------------------------------------- rendering


def stylize_array(
    image: np.ndarray, mask: object, stylist: Stylist, render: Render, progress: Progress | None
) -> np.ndarray:
    """An ``(H, W, C)`` array rendered as one frame into a new array."""
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


def stylize_tensor(
    image: Tensor, mask: object, stylist: Stylist, render: Render, progress: Progress | None
) -> Tensor:
    """Each frame of a ``(C, H, W)`` or ``(B, C, H, W)`` tensor, rendered alone, into a new
    tensor."""
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


def _stylize_grey(grey: Tensor, out: Tensor, rect: Rect, render: Render) -> None:
    """Stylise ``(H, W)`` grey as the RGB image ``(g, g, g)`` and store its luma in ``out``.

    The luma is taken of the change only (``g + Y(rgb - g)``), so pixels the render left alone
    (mask 0, strength 0) come back bit-exactly.
    """
    height, width = grey.shape
    rgb = torch.empty((height, width, 3), dtype=torch.float32, device=grey.device)
    render(TensorPixels(grey[..., None].expand(height, width, 3)), rect, TensorPixels(rgb), rect)
    source = grey.to(torch.float32)
    change = luminance((rgb.permute(2, 0, 1) - source)[None])[0, 0]
    value = torch.where(change == 0, source, source + change)
    if not grey.is_floating_point():
        value = value.round().clamp(0.0, float(torch.iinfo(grey.dtype).max))
    out.copy_(value)


def _batch_progress(progress: Progress | None, frame: int, count: int) -> Progress | None:
    """``progress`` told the fraction of the whole batch done while frame ``frame`` renders."""
    if progress is None or count == 1:
        return progress
    report = progress
    return lambda done: report((frame + done) / count)


def _mask_view(mask: object, size: tuple[int, int]) -> np.ndarray:
    """The mask as an ``(H, W, 1)`` view (no copy), or InputError."""
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
    dtype = dtype_name(mask.dtype)
    if dtype not in _TENSOR_DTYPES:
        raise InputError(f"expected {_TENSOR_DTYPE_NAMES} mask values, got {dtype}")
    planes = mask.detach()
    planes = {2: planes[None], 3: planes, 4: planes[:, 0]}[planes.dim()]
    return planes[..., None]
