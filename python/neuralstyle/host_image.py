"""The image dicts of the plugin-engine contract (docs/contract.md, "Images"), checked.

Importing this module is cheap (no torch): :mod:`neuralstyle.host` imports it when the plugin
loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from neuralstyle.engine.pixels import Pixels

__all__ = ["HostImage"]

_COMPONENTS = {"RGBA": 4, "RGB": 3, "Alpha": 1}
_PREMULTIPLICATION = ("opaque", "premultiplied", "unpremultiplied")
_IMAGE_KEYS = frozenset({"pixels", "bounds", "components", "premultiplication"})


@dataclass(frozen=True)
class HostImage:
    """One image dict of the contract, checked."""

    raw: object  # numpy view, or an object exposing __cuda_array_interface__
    bounds: tuple[int, int, int, int]
    channels: int
    dtype: str
    premultiplied: bool
    window: tuple[int, int, int, int]  # the dst render window; bounds for src and mask

    @property
    def on_cuda(self) -> bool:
        return hasattr(self.raw, "__cuda_array_interface__")

    def describe(self) -> str:
        return f"{self.channels} channels of {self.dtype}"

    def pixels(self) -> Pixels:
        from neuralstyle.engine.pixels import CpuPixels, CudaPixels  # torch: see render()

        if self.on_cuda:
            return CudaPixels.wrap(self.raw)
        return CpuPixels(self.raw[::-1])  # type: ignore[index]  # upright view, no copy

    @classmethod
    def parse(cls, image: Mapping[str, Any], role: str, *, window: bool = False) -> HostImage:
        from neuralstyle.engine.pixels import DTYPES  # torch: see render()

        if not isinstance(image, Mapping):
            raise InputError(f"{role} must be a dict, got {type(image).__name__}")
        keys = _IMAGE_KEYS | ({"window"} if window else set())
        if set(image) != keys:
            raise InputError(
                f"{role} must have exactly the keys {', '.join(sorted(keys))}; "
                f"got {', '.join(sorted(map(str, image)))}"
            )
        components = image["components"]
        if components not in _COMPONENTS:
            raise InputError(
                f"{role}['components'] must be one of {', '.join(_COMPONENTS)}, got {components!r}"
            )
        premultiplication = image["premultiplication"]
        if premultiplication not in _PREMULTIPLICATION:
            raise InputError(
                f"{role}['premultiplication'] must be one of {', '.join(_PREMULTIPLICATION)}, "
                f"got {premultiplication!r}"
            )
        bounds = _rect(image["bounds"], f"{role}['bounds']")
        area = _rect(image["window"], f"{role}['window']") if window else bounds
        x1, y1, x2, y2 = bounds
        if window and not (x1 <= area[0] and y1 <= area[1] and area[2] <= x2 and area[3] <= y2):
            raise InputError(f"{role}['window'] {area} must lie inside {role}['bounds'] {bounds}")

        raw = image["pixels"]
        if hasattr(raw, "__cuda_array_interface__"):
            interface = raw.__cuda_array_interface__
            shape, dtype = tuple(interface["shape"]), np.dtype(interface["typestr"])
        elif isinstance(raw, np.ndarray):
            shape, dtype = raw.shape, raw.dtype
            if window and not raw.flags.writeable:
                raise InputError(f"{role}['pixels'] must be writeable")
        else:
            raise InputError(
                f"{role}['pixels'] must be a numpy array or expose __cuda_array_interface__, "
                f"got {type(raw).__name__}"
            )
        expected = (y2 - y1, x2 - x1, _COMPONENTS[components])
        if shape != expected:
            raise InputError(
                f"{role}['pixels'] has shape {shape}; bounds {bounds} and {components} "
                f"need {expected}"
            )
        if dtype not in DTYPES:
            raise InputError(
                f"{role}['pixels'] must be uint8, uint16, float16 or float32, got {dtype}"
            )
        return cls(
            raw=raw,
            bounds=bounds,
            channels=expected[2],
            dtype=dtype.name,
            premultiplied=components == "RGBA" and premultiplication == "premultiplied",
            window=area,
        )


def _rect(value: object, name: str) -> tuple[int, int, int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        raise InputError(f"{name} must be four integers (x1, y1, x2, y2), got {value!r}")
    coords = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    if len(coords) != 4:
        raise InputError(f"{name} must be four integers (x1, y1, x2, y2), got {value!r}")
    x1, y1, x2, y2 = coords
    if x2 < x1 or y2 < y1:
        raise InputError(f"{name} must have x1 <= x2 and y1 <= y2, got {value!r}")
    return x1, y1, x2, y2
