"""Views over pixel memory the engine does not own, and the only ops that read or write it.

The engine sees every image upright (row 0 at the top) in a canvas where a :class:`Rect` places
it. Host memory is read once, by :meth:`Pixels.to_planar`, straight into the planar float32 tensor
the network takes (the flip, the cast and the HWC to CHW reorder are one copy), and written once,
by :meth:`Pixels.write`.

- :class:`CpuPixels` wraps a numpy array. numpy can hold the negative row stride of a bottom-up
  OFX image, so the upright view is ``array[::-1]``, free of copies.
- :class:`CudaPixels` wraps a bottom-up CUDA tensor (``__cuda_array_interface__``, OFX 1.5).
  torch cannot hold negative strides, so it flips on read and on write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.tensor_words import dtype_name

__all__ = [
    "DTYPES",
    "CpuPixels",
    "CudaPixels",
    "Pixels",
    "Rect",
    "TensorPixels",
    "check_finite",
]

#: Pixel types the engine takes: OFX byte, short, half and float.
DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float16), np.dtype(np.float32))


@dataclass(frozen=True)
class Rect:
    """A half-open pixel rectangle in upright canvas coordinates (rows grow downwards)."""

    top: int
    left: int
    bottom: int
    right: int

    @classmethod
    def of_shape(cls, height: int, width: int) -> Rect:
        return cls(0, 0, height, width)

    @classmethod
    def from_ofx(cls, bounds: tuple[int, int, int, int]) -> Rect:
        """OFX ``(x1, y1, x2, y2)`` with y up, to upright rows: row ``-y2`` is the top row."""
        x1, y1, x2, y2 = bounds
        return cls(-y2, x1, -y1, x2)

    @property
    def height(self) -> int:
        return max(0, self.bottom - self.top)

    @property
    def width(self) -> int:
        return max(0, self.right - self.left)

    @property
    def empty(self) -> bool:
        return self.height == 0 or self.width == 0

    def intersect(self, other: Rect) -> Rect:
        return Rect(
            max(self.top, other.top),
            max(self.left, other.left),
            min(self.bottom, other.bottom),
            min(self.right, other.right),
        )

    def contains(self, other: Rect) -> bool:
        return (
            self.top <= other.top
            and self.left <= other.left
            and other.bottom <= self.bottom
            and other.right <= self.right
        )

    def within(self, outer: Rect) -> Rect:
        """This rectangle in the local coordinates of ``outer`` (whose top-left becomes 0, 0)."""
        return Rect(
            self.top - outer.top,
            self.left - outer.left,
            self.bottom - outer.top,
            self.right - outer.left,
        )

    def bands_outside(self, inner: Rect) -> list[Rect]:
        """Disjoint rectangles covering this one minus ``inner`` (inside it, or empty)."""
        if inner.empty:
            return [] if self.empty else [self]
        bands = [
            Rect(self.top, self.left, inner.top, self.right),
            Rect(inner.bottom, self.left, self.bottom, self.right),
            Rect(inner.top, self.left, inner.bottom, inner.left),
            Rect(inner.top, inner.right, inner.bottom, self.right),
        ]
        return [b for b in bands if not b.empty]


class Pixels(Protocol):
    """An upright ``(H, W, C)`` view of pixel memory. Sub-views share the memory."""

    @property
    def shape(self) -> tuple[int, int, int]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def view(self, rect: Rect) -> Pixels:
        """The part of this view at ``rect`` (local coordinates)."""
        ...

    def to_planar(self, device: torch.device) -> Tensor:
        """A fresh ``(C, H, W)`` float32 tensor on ``device`` in the pixels' own units."""
        ...

    def last_channel(self, device: torch.device) -> Tensor:
        """A fresh ``(H, W)`` float32 tensor of the last channel, in the pixels' own units."""
        ...

    def write(self, planar: Tensor) -> None:
        """Store ``(C, H, W)`` float32 values (already rounded for integer pixels), once."""
        ...

    def copy_from(self, other: Pixels) -> None:
        """Copy the pixels of a view of the same shape and type, bit-exactly."""
        ...

    def fill_zero(self) -> None: ...


class CpuPixels:
    """An upright view over CPU memory: a numpy array of shape ``(H, W, C)``, any strides."""

    def __init__(self, array: np.ndarray) -> None:
        if array.ndim != 3:
            raise InputError(f"expected pixels of shape (H, W, C), got shape {array.shape}")
        self.array = array

    @property
    def shape(self) -> tuple[int, int, int]:
        h, w, c = self.array.shape
        return h, w, c

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def view(self, rect: Rect) -> CpuPixels:
        return CpuPixels(self.array[rect.top : rect.bottom, rect.left : rect.right])

    def to_planar(self, device: torch.device) -> Tensor:
        h, w, c = self.shape
        # torch's memory, not numpy's: inside a frame it comes from the frame arena
        planar = torch.empty((c, h, w), dtype=torch.float32)
        np.copyto(planar.numpy().transpose(1, 2, 0), self.array, casting="unsafe")
        return planar.to(device)

    def last_channel(self, device: torch.device) -> Tensor:
        plane = np.empty(self.shape[:2], dtype=np.float32)
        np.copyto(plane, self.array[..., -1], casting="unsafe")
        return torch.from_numpy(plane).to(device)

    def write(self, planar: Tensor) -> None:
        values = planar.detach().cpu().numpy().transpose(1, 2, 0)
        np.copyto(self.array, values, casting="unsafe")

    def copy_from(self, other: Pixels) -> None:
        if not isinstance(other, CpuPixels):
            raise TypeError("copy_from needs pixels in the same kind of memory")
        np.copyto(self.array, other.array, casting="no")

    def fill_zero(self) -> None:
        self.array[...] = 0


class TensorPixels:
    """An upright ``(H, W, C)`` view over a torch tensor on any device (any strides): the
    :class:`Pixels` of the API's tensors. The engine reads it straight
    onto its device and writes its result straight into it."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        h, w, c = self.tensor.shape
        return h, w, c

    @property
    def dtype(self) -> np.dtype:
        # What the engine reads the values as: integers in their own range, or float (the engine
        # computes in float32 whatever the float type; write casts back).
        if self.tensor.is_floating_point():
            return np.dtype(np.float32)
        return np.dtype(dtype_name(self.tensor.dtype))

    def view(self, rect: Rect) -> Pixels:
        return TensorPixels(self.tensor[rect.top : rect.bottom, rect.left : rect.right])

    def to_planar(self, device: torch.device) -> Tensor:
        return self._fresh(self.tensor.permute(2, 0, 1), device)

    def last_channel(self, device: torch.device) -> Tensor:
        return self._fresh(self.tensor[..., -1], device)

    def write(self, planar: Tensor) -> None:
        self.tensor.copy_(planar.permute(1, 2, 0))

    def copy_from(self, other: Pixels) -> None:
        if not isinstance(other, TensorPixels):
            raise TypeError("copy_from needs pixels in the same kind of memory")
        self.tensor.copy_(other.tensor)

    def fill_zero(self) -> None:
        self.tensor.zero_()

    @staticmethod
    def _fresh(values: Tensor, device: torch.device) -> Tensor:
        # One copy, whatever the source's layout, dtype and device (``.to`` may return the
        # source itself, and the engine owns what it is given).
        out = torch.empty(values.shape, dtype=torch.float32, device=device)
        return out.copy_(values)


class CudaPixels:
    """A view over CUDA memory: a ``(H, W, C)`` tensor stored bottom-up (OFX order), shown upright.

    Built from an object exposing ``__cuda_array_interface__`` without copying.
    """

    def __init__(self, bottom_up: Tensor) -> None:
        if bottom_up.dim() != 3:
            raise InputError(
                f"expected pixels of shape (H, W, C), got shape {tuple(bottom_up.shape)}"
            )
        self.tensor = bottom_up

    @classmethod
    def wrap(cls, obj: object) -> CudaPixels:
        return cls(torch.as_tensor(obj, device="cuda"))

    @property
    def shape(self) -> tuple[int, int, int]:
        h, w, c = self.tensor.shape
        return h, w, c

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(dtype_name(self.tensor.dtype))

    def view(self, rect: Rect) -> CudaPixels:
        h = self.shape[0]
        return CudaPixels(self.tensor[h - rect.bottom : h - rect.top, rect.left : rect.right])

    def to_planar(self, device: torch.device) -> Tensor:
        return self.tensor.permute(2, 0, 1).flip(1).to(device, torch.float32).contiguous()

    def last_channel(self, device: torch.device) -> Tensor:
        return self.tensor[..., -1].flip(0).to(device, torch.float32).contiguous()

    def write(self, planar: Tensor) -> None:
        self.tensor.copy_(planar.flip(1).permute(1, 2, 0))

    def copy_from(self, other: Pixels) -> None:
        if not isinstance(other, CudaPixels):
            raise TypeError("copy_from needs pixels in the same kind of memory")
        self.tensor.copy_(other.tensor)

    def fill_zero(self) -> None:
        self.tensor.zero_()


def check_finite(values: Tensor, what: str) -> None:
    """Raise InputError naming ``what`` when ``values`` (read from host memory) hold a NaN or an
    infinity."""
    # One reduction pass: NaN propagates through min/max and infinities show up in them.
    low, high = torch.aminmax(values)
    if bool(torch.isfinite(low)) and bool(torch.isfinite(high)):
        return
    bad = int((~torch.isfinite(values)).sum())
    raise InputError(
        f"the {what} has {bad} NaN or infinite value{'s' if bad != 1 else ''}; "
        "remove them upstream (e.g. with a clamp or NaN-removal node) before stylising"
    )
