"""The ``temporal`` argument of :func:`neuralstyle.host.render` (docs/contract.md, "Temporal
stability"), checked, and its render (:mod:`neuralstyle.engine.steadied`).

Importing this module is cheap (no torch): torch loads with the first render.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuralstyle.engine.request import StyleRequest
from neuralstyle.errors import InputError
from neuralstyle.host_image import HostImage
from neuralstyle.temporal import WARM_SEGMENT

if TYPE_CHECKING:
    from neuralstyle.engine.pixels import Pixels, Rect
    from neuralstyle.engine.stylist import Stylist

__all__ = ["HostWindow"]


@dataclass(frozen=True)
class HostWindow:
    """The ``temporal`` argument, checked: the frame's own images and its neighbours'."""

    radius: int
    amount: float
    time: float
    own: tuple[HostImage, HostImage | None]
    frames: list[tuple[int, HostImage, HostImage | None, StyleRequest]]

    @classmethod
    def parse(
        cls, temporal: object, time: float, source: HostImage, matte: HostImage | None
    ) -> HostWindow:
        if not isinstance(temporal, Mapping) or set(temporal) != {"radius", "amount", "frames"}:
            raise InputError("temporal must be a dict with exactly the keys amount, frames, radius")
        radius, amount, frames = temporal["radius"], temporal["amount"], temporal["frames"]
        if isinstance(radius, bool) or not isinstance(radius, int) or not 1 <= radius <= 8:
            raise InputError(f"temporal['radius'] must be an integer from 1 to 8, got {radius!r}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise InputError(f"temporal['amount'] must be a number, got {amount!r}")
        if not 0.0 <= amount <= 1.0:
            raise InputError(f"temporal['amount'] must be from 0 to 1, got {amount!r}")
        if not isinstance(frames, (list, tuple)):
            raise InputError(f"temporal['frames'] must be a list, got {type(frames).__name__}")
        parsed = []
        for i, entry in enumerate(frames):
            name = f"temporal['frames'][{i}]"
            if not isinstance(entry, Mapping) or set(entry) != {"time", "src", "mask", "params"}:
                raise InputError(f"{name} must be a dict with the keys mask, params, src, time")
            at = entry["time"]
            if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
                raise InputError(f"{name}['time'] must be a finite number, got {at!r}")
            offset = round(float(at) - float(time))
            lead = radius + WARM_SEGMENT - 1  # optimisation's warm starts read further back
            if not (-lead <= offset <= radius and offset and abs(at - time - offset) < 1e-6):
                raise InputError(
                    f"{name}['time'] must be a whole number of frames from {time:g}, at most "
                    f"{lead} before it and {radius} after; got {at!r}"
                )
            src = HostImage.parse(entry["src"], f"{name}['src']")
            mask = (
                None if entry["mask"] is None else HostImage.parse(entry["mask"], f"{name}['mask']")
            )
            if src.on_cuda != source.on_cuda or (mask is not None and mask.on_cuda != src.on_cuda):
                raise InputError(f"{name}: every image must be in the same kind of memory")
            parsed.append((offset, src, mask, StyleRequest.from_params(entry["params"])))
        return cls(radius, float(amount), float(time), (source, matte), parsed)

    def steadies(self, request: StyleRequest) -> bool:
        """Whether the frame is steadied at all (else it renders as without the window)."""
        from neuralstyle.temporal.window import steadies  # torch: see neuralstyle.host

        return bool(self.frames) and steadies(self.amount, request.is_identity)

    def render(
        self,
        stylist: Stylist,
        *,
        dst: Pixels,
        window: Rect,
        scale: tuple[float, float],
        frame_size: tuple[int, int] | None,
        progress: Callable[[float], None] | None,
    ) -> None:
        from neuralstyle.engine.pixels import Rect  # torch: see neuralstyle.host
        from neuralstyle.engine.steadied import ShotFrame, render_steadied
        from neuralstyle.engine.stylist import Stylist

        def shot_frame(
            offset: int, src: HostImage, mask: HostImage | None, s: Stylist
        ) -> ShotFrame:
            return ShotFrame(
                offset,
                src.pixels(),
                Rect.from_ofx(src.bounds),
                s,
                None if mask is None else mask.pixels(),
                None if mask is None else Rect.from_ofx(mask.bounds),
            )

        frames = [shot_frame(0, *self.own, stylist)]
        for offset, src, mask, request in self.frames:
            same = request == stylist.request  # no keys: the instance's prepared Stylist
            frames.append(
                shot_frame(offset, src, mask, stylist if same else Stylist(request, stylist.device))
            )
        render_steadied(
            frames,
            dst,
            window,
            radius=self.radius,
            amount=self.amount,
            time=self.time,
            premultiplied=self.own[0].premultiplied,
            render_scale=scale,
            frame_size=frame_size,
            progress=progress,
        )
