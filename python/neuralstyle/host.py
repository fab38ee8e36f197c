"""The only module the OpenFX plugin calls (docs/contract.md is the contract; this implements it).

Buffers arrive as views over host memory in OFX orientation (row 0 at the bottom, row strides
possibly negative, bounds possibly offset) and plain values; nothing else crosses. The engine reads
the source memory once and writes the render window of the output memory once.

Importing this module is cheap (no torch, no model): that happens on the first render.

Test hook: with ``NEURALSTYLE_TRACE`` set, every render appends one JSON line describing its
buffers (:mod:`neuralstyle.testing.trace`), so tests can prove no copy was made.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralstyle.engine.request import StyleRequest
from neuralstyle.errors import InputError, RenderAbortedError
from neuralstyle.testing import trace

if TYPE_CHECKING:
    import torch

    from neuralstyle.engine.pixels import Pixels
    from neuralstyle.engine.stylist import Stylist

__all__ = ["is_identity", "purge_caches", "release", "render"]

_COMPONENTS = {"RGBA": 4, "RGB": 3, "Alpha": 1}
_PREMULTIPLICATION = ("opaque", "premultiplied", "unpremultiplied")
_IMAGE_KEYS = frozenset({"pixels", "bounds", "components", "premultiplication"})

# Per-instance engine state. Instances render concurrently from host threads; the network itself
# is shared per device (methods.builtin caches it), each instance keeps its request's weights.
_lock = threading.Lock()
_instances: dict[int, Stylist] = {}


def render(  # noqa: PLR0917  # positional, as docs/contract.md fixes it
    instance: int,
    src: Mapping[str, Any],
    dst: Mapping[str, Any],
    params: Mapping[str, object],
    time: float,
    render_scale: tuple[float, float],
    mask: Mapping[str, Any] | None = None,
    cuda_stream: int = 0,
    progress: Callable[[float], bool] | None = None,
    frame_size: tuple[int, int] | None = None,
) -> None:
    """Fill ``dst["window"]`` of the output with the stylised source, or raise.

    Args:
        instance: the plugin's id for the effect instance.
        src, dst, mask: image dicts (``pixels``, ``bounds``, ``components``,
            ``premultiplication``; ``dst`` also ``window``); see docs/contract.md.
        params: plain values, keys as :data:`neuralstyle.engine.request.PARAMS`.
        time: the frame (recorded in the trace; no method depends on it).
        render_scale: the host's proxy scale ``(x, y)``; strokes keep their size on the full
            frame.
        cuda_stream: the host's ``cudaStream_t`` for CUDA buffers, 0 for none.
        progress: the host's progress bar: called with the fraction done during long renders
            (optimisation); a False answer (the user pressed abort) stops the render.
        frame_size: ``(height, width)`` of the full frame (render scale 1) of which ``src`` is
            the render, when the host knows it (a proxy alone does not tell an odd side from
            an even one); ignored when ``src`` is not that frame at ``render_scale``.

    Raises:
        InputError: bad params or images (the message names the key and the allowed values).
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: the network's weights are missing or corrupt.
        RenderAbortedError: ``progress`` answered False.
    """
    request = StyleRequest.from_params(params)
    _check_instance(instance)
    _check_frame(time, render_scale)
    source = _HostImage.parse(src, "src")
    target = _HostImage.parse(dst, "dst", window=True)
    matte = None if mask is None else _HostImage.parse(mask, "mask")
    if (source.channels, source.dtype) != (target.channels, target.dtype):
        raise InputError(
            f"dst must have the components and depth of src: src is {source.describe()}, "
            f"dst is {target.describe()}"
        )
    if any(image.on_cuda != source.on_cuda for image in (target, matte) if image is not None):
        raise InputError("src, dst and mask must all be in CPU memory or all in CUDA memory")
    if isinstance(cuda_stream, bool) or not isinstance(cuda_stream, int) or cuda_stream < 0:
        raise InputError(
            f"cuda_stream must be a stream handle (an integer >= 0), got {cuda_stream!r}"
        )
    trace.record(instance, time, source.raw, target.raw, frame_size)

    # Engine imports stay in functions (here and below): they load torch (about 1 s with
    # -X importtime), which must not load when the plugin imports this module.
    from neuralstyle.engine.pipeline import render_frame
    from neuralstyle.engine.pixels import Rect

    cuda = source.on_cuda
    scale = (float(render_scale[0]), float(render_scale[1]))
    src_pixels, dst_pixels = source.pixels(), target.pixels()
    window = Rect.from_ofx(target.window)
    dst_view = dst_pixels.view(window.within(Rect.from_ofx(target.bounds)))
    device = _cuda_device(src_pixels, request) if cuda else None
    stylist = _stylist(instance, request, device)
    with _host_stream(cuda, cuda_stream):
        render_frame(
            src_pixels,
            Rect.from_ofx(source.bounds),
            dst_view,
            window,
            stylist,
            premultiplied=source.premultiplied,
            mask=None if matte is None else matte.pixels(),
            mask_rect=None if matte is None else Rect.from_ofx(matte.bounds),
            render_scale=scale,
            frame_size=_frame_size(frame_size, source, scale),
            progress=None if progress is None else _abortable(progress),
        )


def _abortable(progress: Callable[[float], bool]) -> Callable[[float], None]:
    def report(fraction: float) -> None:
        if progress(fraction) is False:
            raise RenderAbortedError("the render was aborted by the host")

    return report


def is_identity(params: Mapping[str, object]) -> bool:
    """True when a render with ``params`` returns its source unchanged (strength 0).

    Raises:
        InputError: bad params, as :func:`render`.
    """
    return StyleRequest.from_params(params).is_identity


def release(instance: int) -> None:
    """Forget ``instance`` (destroyed by the host). The shared network stays loaded."""
    with _lock:
        _instances.pop(instance, None)


def purge_caches() -> None:
    """Drop every instance's state, the loaded networks and torch's cached GPU memory."""
    with _lock:
        _instances.clear()
    if "torch" not in sys.modules:  # nothing loaded yet; do not import torch just to purge
        return
    import torch  # not at module level: see render(); here it is loaded already (checked above)

    from neuralstyle.engine import stylist
    from neuralstyle.methods import adain, builtin, fast
    from neuralstyle.models import encoder

    stylist.clear_cache()
    builtin.clear_cache()
    adain.clear_cache()
    fast.clear_cache()
    encoder.clear_cache()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


@dataclass(frozen=True)
class _HostImage:
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
    def parse(cls, image: Mapping[str, Any], role: str, *, window: bool = False) -> _HostImage:
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


def _check_instance(instance: object) -> None:
    if isinstance(instance, bool) or not isinstance(instance, int):
        raise InputError(f"instance must be an integer, got {instance!r}")


def _check_frame(time: object, render_scale: object) -> None:
    if isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time):
        raise InputError(f"time must be a finite number, got {time!r}")
    ok = (
        isinstance(render_scale, (tuple, list))
        and len(render_scale) == 2
        and all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and s > 0
            for s in render_scale
        )
    )
    if not ok:
        raise InputError(f"render_scale must be two positive numbers, got {render_scale!r}")


def _frame_size(
    frame_size: object, source: _HostImage, render_scale: tuple[float, float]
) -> tuple[int, int] | None:
    if frame_size is None:
        return None
    from neuralstyle.controls.scale import check_frame_size, is_render_of  # torch: see render()

    frame = check_frame_size(frame_size)
    x1, y1, x2, y2 = source.bounds
    # A host may hand over less than the region of definition (a crop upstream, a tile): then
    # the source is not the frame, and its own size over the render scale is the best guess.
    return frame if is_render_of((y2 - y1, x2 - x1), render_scale, frame) else None


def _stylist(instance: int, request: StyleRequest, device: torch.device | None) -> Stylist:
    """The instance's cached :class:`Stylist`, rebuilt when its settings change."""
    from neuralstyle.engine.stylist import Stylist  # torch: see render()

    with _lock:
        current = _instances.get(instance)
        if (
            current is None
            or current.request != request
            or (device is not None and current.device != device)
        ):
            current = Stylist(request, device)
            _instances[instance] = current
        return current


def _cuda_device(pixels: Pixels, request: StyleRequest) -> torch.device:
    """CUDA buffers are rendered where they live, unless the params insist on the CPU."""
    import torch  # see render()

    from neuralstyle.engine.pixels import CudaPixels

    if request.device == "cpu" or not isinstance(pixels, CudaPixels):
        return torch.device("cpu")
    return pixels.tensor.device


@contextmanager
def _host_stream(cuda: bool, cuda_stream: int) -> Iterator[None]:
    """CUDA buffers: enqueue on the host's stream when it gave one (OFX 1.5: do not wait), else
    finish the work before returning. CPU buffers: nothing to do."""
    if not cuda:
        yield
        return
    import torch  # see render()

    if cuda_stream:
        with torch.cuda.stream(torch.cuda.ExternalStream(cuda_stream)):
            yield
    else:
        yield
        torch.cuda.current_stream().synchronize()
