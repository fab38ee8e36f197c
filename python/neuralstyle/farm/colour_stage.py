"""Colour management around the engine for farm renders (DESIGN decision 5, with OCIO).

Without colour spaces the plate goes to the engine as the node would get it: float pixels are
scene-linear (the engine sRGB-encodes them for the network), integer pixels display-referred.

With ``--in-cs``, per frame::

    straight = unpremultiply(plate)                 # OCIO curves need straight colour
    working  = OCIO(in -> working)(straight)
    engine   = working                  if working is scene-linear (the engine encodes it)
               srgb_decode(working)     otherwise, so the engine's sRGB encode gives the network
                                        the working encoding itself (ACEScct, sRGB - Texture)
    out      = premultiply(OCIO(working -> out)(engine result, re-encoded likewise))

The engine keeps what the network cannot see (values above 1, negatives), so highlights survive;
alpha is never converted. The default working space is ``lin_rec709``: the network was trained
on sRGB images, which is the sRGB encoding of linear Rec.709.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neuralstyle.errors import InputError
from neuralstyle.io import ocio

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["DEFAULT_WORKING", "ColourSettings", "ColourStage"]

DEFAULT_WORKING = "lin_rec709"


@dataclass(frozen=True)
class ColourSettings:
    """The command line's colour options. ``input`` None means no colour management."""

    config: str | None = None
    input: str | None = None
    working: str | None = None
    output: str | None = None

    @property
    def managed(self) -> bool:
        return self.input is not None

    def check(self) -> ColourStage | None:
        """Load the config and resolve the names now, before any frame renders.

        Raises:
            InputError: working/output space without ``--in-cs``, an unknown config or space.
        """
        if not self.managed:
            if self.working is not None or self.output is not None:
                raise InputError(
                    "--working-cs and --out-cs need --in-cs (the plate's colour space)"
                )
            return None
        assert self.input is not None
        config = ocio.config_name(self.config)
        source = ocio.resolve(config, self.input)
        working = ocio.resolve(config, self.working or DEFAULT_WORKING)
        target = ocio.resolve(config, self.output or self.input)
        if working.data:
            raise InputError(f"the working space {working.name!r} holds data, not colour")
        return ColourStage(
            ocio.Transform(source, working), ocio.Transform(working, target), working.scene_linear
        )


@dataclass(frozen=True)
class ColourStage:
    """The two OCIO transforms of a render and how the engine sees the working space."""

    forward: ocio.Transform
    inverse: ocio.Transform
    working_linear: bool

    def describe(self) -> dict[str, str]:
        """For the EXR header: config and the three colour spaces."""
        return {
            "neuralstyle:ocio:config": self.forward.source.config,
            "neuralstyle:ocio:input": self.forward.source.name,
            "neuralstyle:ocio:working": self.forward.target.name,
            "neuralstyle:ocio:output": self.inverse.target.name,
        }

    def to_engine(self, colour: np.ndarray, premultiplied: bool) -> np.ndarray:
        """``(H, W, 3|4)`` float32 plate colour -> straight working colour for the engine."""
        from neuralstyle.pixel_encoding import srgb_decode

        out = np.array(colour, dtype=np.float32, order="C", copy=True)
        if premultiplied and out.shape[2] == 4:
            _associate(out, inverse=True)
        rgb = np.ascontiguousarray(out[..., :3])
        self.forward.apply(rgb)
        out[..., :3] = rgb if self.working_linear else _curve(srgb_decode, rgb)
        return out

    def from_engine(self, colour: np.ndarray, premultiplied: bool) -> np.ndarray:
        """The engine's straight working colour -> output colour (premultiplied if asked)."""
        from neuralstyle.pixel_encoding import srgb_encode

        out = np.array(colour, dtype=np.float32, order="C", copy=True)
        rgb = np.ascontiguousarray(out[..., :3])
        if not self.working_linear:
            rgb = _curve(srgb_encode, rgb)
        self.inverse.apply(rgb)
        out[..., :3] = rgb
        if premultiplied and out.shape[2] == 4:
            _associate(out, inverse=False)
        return out


def _curve(function: Callable[[Tensor], Tensor], rgb: np.ndarray) -> np.ndarray:
    """Apply one of the engine's curves (:mod:`neuralstyle.pixel_encoding`) to a numpy array."""
    import torch

    return np.ascontiguousarray(function(torch.from_numpy(rgb)).numpy(), dtype=np.float32)


def _associate(rgba: np.ndarray, *, inverse: bool) -> None:
    """(Un)premultiply ``(H, W, 4)`` float32 in place with the engine's alpha rule."""
    import torch

    from neuralstyle.pixel_encoding import premultiply, unpremultiply

    planar = torch.from_numpy(np.ascontiguousarray(rgba[..., :3])).permute(2, 0, 1)
    alpha = torch.from_numpy(np.ascontiguousarray(rgba[..., 3]))
    done = unpremultiply(planar, alpha) if inverse else premultiply(planar, alpha)
    rgba[..., :3] = done.permute(1, 2, 0).numpy()
