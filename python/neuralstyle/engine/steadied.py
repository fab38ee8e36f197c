"""The node's render with Temporal stability on: each frame of the window t-K..t+K the host handed
over is rendered whole by :func:`~neuralstyle.engine.pipeline.render_frame` (as the farm renders
it through :func:`neuralstyle.stylize`), the window is consolidated
(:func:`neuralstyle.temporal.window.steady`), and the render window of the output is written
once. Stylisations and flows are kept by content (:mod:`neuralstyle.temporal.frame_cache`), so a
host playing or rendering the shot in order stylises each frame once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuralstyle.engine.pipeline import place, render_frame
from neuralstyle.engine.pixels import CpuPixels, Pixels, Rect
from neuralstyle.engine.stylist import Progress, Stylist
from neuralstyle.errors import InputError
from neuralstyle.pixel_encoding import is_float

__all__ = ["ShotFrame", "render_steadied"]


@dataclass(frozen=True)
class ShotFrame:
    """A frame of the window as the host gave it: its source and mask (upright views, or CUDA
    pixels), where they lie, and the settings at its time."""

    offset: int
    src: Pixels
    src_rect: Rect
    stylist: Stylist
    mask: Pixels | None = None
    mask_rect: Rect | None = None


def render_steadied(  # render_frame's settings and the window's
    frames: list[ShotFrame],
    dst: Pixels,
    dst_rect: Rect,
    *,
    radius: int,
    amount: float,
    time: float,
    premultiplied: bool,
    render_scale: tuple[float, float],
    frame_size: tuple[int, int] | None,
    progress: Progress | None = None,
) -> None:
    """Fill ``dst`` (the render window at ``dst_rect``) with the frame at offset 0 of ``frames``
    steadied by the others (``radius``: the node's Frames either side; ``amount``: its
    Stability amount at this frame; ``time``: the frame's, which places the optimisation's
    warm-start segments, :data:`neuralstyle.temporal.WARM_SEGMENT`).

    Raises:
        InputError: a frame of another size or pixel type than the rendered one, and what
            :func:`render_frame` raises.
    """
    from neuralstyle.temporal import starts_segment
    from neuralstyle.temporal.consolidate import display_for_flow
    from neuralstyle.temporal.frame_cache import content_key
    from neuralstyle.temporal.window import WindowFrame, steady

    own = next(f for f in frames if f.offset == 0)
    for f in frames:
        if (f.src_rect, f.src.shape, f.src.dtype) != (own.src_rect, own.src.shape, own.src.dtype):
            raise InputError(
                f"the Source {f.offset:+d} frames away is {_describe(f)}, this frame's is "
                f"{_describe(own)}: Temporal stability needs a shot's frames alike"
            )
    linear = is_float(own.src.dtype)
    frame = round(time)
    done = [0]

    def window_frame(f: ShotFrame) -> WindowFrame:
        src = _cpu_array(f.src)
        mask = None if f.mask is None else _cpu_array(f.mask)
        settings = {
            "request": repr(f.stylist.request),
            "device": str(f.stylist.device),
            "rects": repr((f.src_rect, f.mask_rect)),
            "premultiplied": premultiplied,
            "render_scale": render_scale,
            "frame_size": frame_size,
        }

        def stylise(start: np.ndarray | None = None) -> np.ndarray:
            out = np.empty(src.shape, dtype=src.dtype)
            base = done[0]
            render_frame(
                CpuPixels(src),
                f.src_rect,
                CpuPixels(out),
                f.src_rect,
                f.stylist,
                premultiplied=premultiplied,
                mask=None if mask is None else CpuPixels(mask),
                mask_rect=f.mask_rect,
                render_scale=render_scale,
                frame_size=frame_size,
                progress=None if progress is None else lambda x: progress((base + x) / len(frames)),
                start=None if start is None else CpuPixels(start),
            )
            done[0] += 1
            return out

        plate_key = content_key(src, settings={"linear": linear})
        # the stylisation's key names the plate's: the pixels are hashed once
        settings["plate"] = plate_key.hex()
        return WindowFrame(
            offset=f.offset,
            plate=plate_key,
            key=content_key(mask, settings=settings),
            display=lambda: display_for_flow(src, linear=linear),
            stylise=stylise,
            identity=f.stylist.request.is_identity,
            warm=stylise if f.stylist.method.warm_starts else None,
            source=src,
            chain_start=starts_segment(frame + f.offset, frame + f.offset - 1),
        )

    weight = amount * own.stylist.method.temporal_weight
    out = steady([window_frame(f) for f in frames], radius=radius, amount=weight)
    place(CpuPixels(out), own.src_rect, dst, dst_rect)


def _cpu_array(pixels: Pixels) -> np.ndarray:
    """An upright ``(H, W, C)`` numpy array of ``pixels`` (a view for CPU memory)."""
    if isinstance(pixels, CpuPixels):
        return pixels.array
    tensor: torch.Tensor = pixels.tensor  # type: ignore[attr-defined]  # CudaPixels: bottom-up
    return np.ascontiguousarray(tensor.flip(0).cpu().numpy())


def _describe(frame: ShotFrame) -> str:
    r = frame.src_rect
    return f"{r.width}x{r.height} {frame.src.dtype} at ({r.left}, {r.top})"
