"""Any style image, fast: the arbitrary image stylisation network of Ghiasi et al. 2017.

A style predictor (MobileNetV2) turns a painting into a 100-d style vector; a transformer network
whose conditional instance norms take their scales and shifts from that vector paints the frame
in one pass. Both come trained from Magenta (:mod:`neuralstyle.models.arbitrary_weights`). On
the CPU the transformer runs compiled for this machine where it can
(:mod:`neuralstyle.models.compiled`).

Controls, the paper's way: strength interpolates the style vector with the frame's own (then the
render's usual pixel mix), two styles blend by their vectors (or, by a mask, as two passes mixed
per pixel), and colour preservation wraps the whole (:mod:`neuralstyle.controls.preserve_colour`).
The transformer paints strokes of a fixed size in working pixels, so proxies run at the full
frame size, and stroke scale changes the working size (as for the built-in styles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from neuralstyle.controls.blend import mix, normalize_weights
from neuralstyle.controls.scale import resize_long_side
from neuralstyle.errors import InputError
from neuralstyle.methods.per_device import PerDevice, out_of_memory, usable_device
from neuralstyle.models.arbitrary_net import (
    SIZE_MULTIPLE,
    STYLE_DIM,
    StylePredictor,
    StyleTransformer,
)
from neuralstyle.models.arbitrary_weights import load_arbitrary_weights
from neuralstyle.models.compiled import Compilable, CompiledOrEager, image_network
from neuralstyle.tensor_words import dtype_name

__all__ = [
    "PROXY_MODE",
    "STYLE_SIDE",
    "FastStylizer",
    "clear_cache",
    "compilable",
    "load_fast",
    "networks",
]

#: Strokes of a fixed size in working pixels: proxies run at the full frame size (see adain.py).
PROXY_MODE = "exact"
#: The long side at which the predictor sees a style image (and the frame, for its own style
#: vector): the size Magenta trained it at. Not a stroke control: seen at 128, 256 and 512 px the
#: same painting moves the result's spectral centroid 0.066 -> 0.085 -> 0.093 (night-swirl on
#: coffee; gravel: 0.078 -> 0.108 -> 0.108, flat above 256), while half and twice the working
#: size move it 0.044 -> 0.085 -> 0.113; stroke scale therefore moves the working size.
STYLE_SIDE = 256


class FastStylizer:
    """The predictor and the transformer, loaded in eval mode on one device.

    Args:
        device: where the networks live; images passed in must already be there.
        weights: the state dict (``predictor.*``, ``transformer.*``); default
            :func:`~neuralstyle.models.arbitrary_weights.load_arbitrary_weights`.

    Raises:
        DeviceError: ``device`` is a CUDA device and CUDA is not available.
        ModelError: the weights are missing or wrong.
    """

    def __init__(
        self, device: torch.device | str, weights: Mapping[str, Tensor] | None = None
    ) -> None:
        self.device = usable_device(device)
        predictor, transformer = networks(weights)
        self.predictor: nn.Module = predictor.to(self.device)
        self.transformer: StyleTransformer = transformer.to(self.device)
        self._paint = CompiledOrEager(compilable(self.transformer), self.device)

    @property
    def compiled(self) -> bool:
        """Whether one frame with one style vector runs the compiled transformer."""
        return self._paint.compiled

    def style_vector(self, image: Tensor) -> Tensor:
        """The style vector of ``image``, seen at :data:`STYLE_SIDE` on its long side.

        Shape:
            - image: :math:`(1, 3, H, W)` RGB in [0, 1] on the device
            - output: :math:`(1, 100)`
        """
        self._check("style image", image)
        with torch.inference_mode():
            out: Tensor = self.predictor(resize_long_side(image, STYLE_SIDE))
        return out

    def stylize(
        self,
        content: Tensor,
        vectors: Sequence[Tensor],
        *,
        strength: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: Sequence[Tensor] | None = None,
    ) -> Tensor:
        """Paint ``content`` with the style vectors (blended by ``style_weights``, or one pass per
        style mixed by ``masks``), each interpolated towards the frame's own by ``strength``.

        Raises:
            InputError: a bad image, strength, weights or masks.
            OutOfMemoryError: out of memory.

        Shape:
            - content: :math:`(1, 3, H, W)` in [0, 1], on the device
            - vectors: each :math:`(1, 100)`
            - masks: each :math:`(1, 1, H, W)` in [0, 1]
            - output: :math:`(1, 3, H, W)` in [0, 1]
        """
        self._check("content", content)
        if not 0.0 <= float(strength) <= 1.0:
            raise InputError(f"fast: strength must be in [0, 1], got {strength}")
        weights = normalize_weights(style_weights, len(vectors))
        if masks is not None and len(masks) != len(vectors):
            raise InputError(f"fast: {len(masks)} masks for {len(vectors)} styles")
        own = self.style_vector(content) if strength < 1.0 else None

        def towards(vector: Tensor) -> Tensor:
            return vector if own is None else own + strength * (vector - own)

        with out_of_memory(self.device, content), torch.inference_mode():
            if masks is None:
                return self._paint(content, towards(mix(list(vectors), weights)))
            mixed: Tensor = masks[0] * self._paint(content, towards(vectors[0]))
            for mask, vector in zip(masks[1:], vectors[1:], strict=True):
                mixed = mixed + mask * self._paint(content, towards(vector))
            return mixed

    def _check(self, what: str, image: Tensor) -> None:
        if image.device != self.device:
            raise InputError(f"the {what} is on {image.device} but fast runs on {self.device}")
        if image.dtype != torch.float32 or image.dim() != 4 or image.shape[:2] != (1, 3):
            raise InputError(
                f"fast: expected the {what} as float32 (1, 3, H, W), got "
                f"{dtype_name(image.dtype)} {tuple(image.shape)}"
            )


def networks(
    weights: Mapping[str, Tensor] | None = None,
) -> tuple[StylePredictor, StyleTransformer]:
    """The predictor and the transformer with ``weights`` (``predictor.*``, ``transformer.*``;
    default :func:`load_arbitrary_weights`), in eval mode without gradients, on the CPU."""
    net = nn.ModuleDict({"predictor": StylePredictor(), "transformer": StyleTransformer()})
    net.load_state_dict(load_arbitrary_weights() if weights is None else weights, strict=True)
    net.eval().requires_grad_(False)
    return cast(StylePredictor, net["predictor"]), cast(StyleTransformer, net["transformer"])


def compilable(transformer: StyleTransformer) -> Compilable:
    """The transformer as :mod:`neuralstyle.models.compiled` builds it: one image of any size,
    one style vector."""
    vector = torch.zeros(1, STYLE_DIM)
    code = ("neuralstyle.models.arbitrary_net", "neuralstyle.ops.instance_norm")
    return image_network("fast", transformer, vector, SIZE_MULTIPLE, code)


_loaded: PerDevice[FastStylizer] = PerDevice(FastStylizer)


def load_fast(device: torch.device | str = "cpu") -> FastStylizer:
    """The process-wide :class:`FastStylizer` on ``device``, loaded on first use (thread-safe)."""
    return _loaded.get(device)


def clear_cache() -> None:
    """Drop the loaded networks (for ``purge_caches``)."""
    _loaded.clear()
