"""Built-in styles: the feed-forward conditional-instance-norm network (Dumoulin et al. 2017).

One network renders all 26 styles and any mix of them in a single pass. :func:`load_builtin`
keeps one loaded network per device for the whole process (a render farm process loads it once).
On the CPU it runs compiled for this machine where it can (:mod:`neuralstyle.models.compiled`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.methods.per_device import PerDevice, out_of_memory, usable_device
from neuralstyle.models.cin_net import MULTIPLE, NUM_STYLES, CINNet
from neuralstyle.models.compiled import Compilable, CompiledOrEager, image_network
from neuralstyle.models.weights import load_builtin_weights
from neuralstyle.tensor_words import dtype_name

__all__ = ["BuiltinStyles", "clear_cache", "compilable", "load_builtin", "network"]


class BuiltinStyles:
    """The 26-style network, loaded in eval mode on one device.

    Args:
        device: where the network lives; images passed in must already be there.
        weights: a :class:`CINNet` state dict; default :func:`load_builtin_weights`.

    Raises:
        DeviceError: ``device`` is a CUDA device and CUDA is not available.
        ModelError: the weights are missing or wrong.

    Shape:
        - image: :math:`(N, 3, H, W)` float32 RGB in [0, 1], display-referred, on ``device``
        - style_weights: :math:`(26)` (or :math:`(N, 26)`), e.g. from
          :func:`neuralstyle.models.styles.style_weights`; any device
        - output: :math:`(N, 3, H, W)` float32 in [0, 1] on ``device``
    """

    def __init__(
        self, device: torch.device | str, weights: Mapping[str, Tensor] | None = None
    ) -> None:
        self.device = usable_device(device)
        self.net = network(weights).to(self.device)
        self._run = CompiledOrEager(compilable(self.net), self.device)

    @property
    def compiled(self) -> bool:
        """Whether frames of one image and one style mix run the compiled network."""
        return self._run.compiled

    def __call__(self, image: Tensor, style_weights: Tensor) -> Tensor:
        if image.device != self.device:
            raise InputError(
                f"the image is on {image.device} but the built-in styles run on {self.device}"
            )
        if image.dtype != torch.float32:
            raise InputError(f"expected a float32 image, got {dtype_name(image.dtype)}")
        weights = style_weights.to(self.device, torch.float32)
        with out_of_memory(self.device, image), torch.inference_mode():
            return self._run(image, weights)


def network(weights: Mapping[str, Tensor] | None = None) -> CINNet:
    """The 26-style network with ``weights`` (default :func:`load_builtin_weights`), in eval
    mode without gradients, on the CPU."""
    net = CINNet()
    net.load_state_dict(load_builtin_weights() if weights is None else weights, strict=True)
    return net.eval().requires_grad_(False)


def compilable(net: CINNet) -> Compilable:
    """``net`` as :mod:`neuralstyle.models.compiled` builds it: one image of any size, one mix."""
    weights = torch.full((NUM_STYLES,), 1.0 / NUM_STYLES)
    code = ("neuralstyle.models.cin_net", "neuralstyle.ops.instance_norm")
    return image_network("builtin", net, weights, MULTIPLE, code)


_loaded: PerDevice[BuiltinStyles] = PerDevice(BuiltinStyles)


def load_builtin(device: torch.device | str) -> BuiltinStyles:
    """The process-wide :class:`BuiltinStyles` for ``device``, loaded on first use (thread-safe)."""
    return _loaded.get(device)


def clear_cache() -> None:
    """Drop every loaded network (for ``purge_caches``); the next :func:`load_builtin` reloads."""
    _loaded.clear()
