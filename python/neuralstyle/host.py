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
from typing import TYPE_CHECKING, Any

from neuralstyle.engine.request import StyleRequest
from neuralstyle.errors import InputError, RenderAbortedError
from neuralstyle.host_image import HostImage
from neuralstyle.host_window import HostWindow
from neuralstyle.testing import trace

if TYPE_CHECKING:
    import torch

    from neuralstyle.engine.pixels import Pixels
    from neuralstyle.engine.stylist import Stylist

__all__ = ["is_identity", "purge_caches", "release", "render"]


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
    temporal: Mapping[str, Any] | None = None,
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
        temporal: Temporal stability (docs/contract.md): ``radius`` (K), ``amount`` and
            ``frames``, the other frames of t-K..t+K the host has, each with its ``time``,
            ``src``, ``mask`` and ``params`` at that time. None: off.

    Raises:
        InputError: bad params or images (the message names the key and the allowed values).
        DeviceError: CUDA asked for but absent, or out of memory.
        ModelError: the network's weights are missing or corrupt.
        RenderAbortedError: ``progress`` answered False.
    """
    request = StyleRequest.from_params(params)
    _check_instance(instance)
    _check_frame(time, render_scale)
    source = HostImage.parse(src, "src")
    target = HostImage.parse(dst, "dst", window=True)
    matte = None if mask is None else HostImage.parse(mask, "mask")
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
    steadied = None if temporal is None else HostWindow.parse(temporal, time, source, matte)
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
    frame = _frame_size(frame_size, source, scale)
    report = None if progress is None else _abortable(progress)
    if steadied is not None and steadied.steadies(request):
        with _host_stream(cuda, cuda_stream):
            steadied.render(
                stylist, dst=dst_view, window=window, scale=scale, frame_size=frame, progress=report
            )
        return
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
            frame_size=frame,
            progress=report,
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
    """Drop every instance's state, the loaded networks, the stylised frames kept for temporal
    windows, the frame arena's kept blocks and torch's cached GPU memory."""
    with _lock:
        _instances.clear()
    if "torch" not in sys.modules:  # nothing loaded yet; do not import torch just to purge
        return
    import torch  # not at module level: see render(); here it is loaded already (checked above)

    from neuralstyle.engine import frame_arena, stylist
    from neuralstyle.methods import adain, builtin, fast, trained
    from neuralstyle.models import encoder
    from neuralstyle.temporal import frame_cache

    stylist.clear_cache()
    builtin.clear_cache()
    adain.clear_cache()
    fast.clear_cache()
    trained.clear_cache()
    encoder.clear_cache()
    frame_cache.clear()
    frame_arena.release()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


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
    frame_size: object, source: HostImage, render_scale: tuple[float, float]
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
