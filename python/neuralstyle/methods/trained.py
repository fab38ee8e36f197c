"""Trained styles (``neuralstyle train``): a one-style conditional-instance-norm network per file.

A trained network is the built-in styles' :class:`~neuralstyle.models.cin_net.CINNet` with its own
weights, so it runs exactly as they do: compiled for this CPU where it can be
(:mod:`neuralstyle.models.compiled`), eager elsewhere. Every trained file shares one package, built
from :func:`template` (by ``neuralstyle compile`` at setup, else on the first render of any trained
style), into which each file's weights are loaded: a new style needs no compile. A process keeps the
few files it rendered last, per device (a farm process loads each once).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.methods.per_device import out_of_memory, usable_device
from neuralstyle.models.cin_net import MULTIPLE, CINNet
from neuralstyle.models.compiled import Compilable, CompiledOrEager, image_network
from neuralstyle.models.trained_style import TrainedStyle, load_trained_style
from neuralstyle.recent import Recent
from neuralstyle.tensor_words import dtype_name

__all__ = ["TrainedNetwork", "clear_cache", "compilable", "load_trained", "network", "template"]

# A few files: a shot renders one; a comp may switch between some.
_CACHE_SIZE = 4


class TrainedNetwork:
    """A trained style, loaded in eval mode on one device.

    Shape:
        - image: :math:`(N, 3, H, W)` float32 RGB in [0, 1], display-referred, on ``device``
        - output: :math:`(N, 3, H, W)` float32 in [0, 1] on ``device``
    """

    def __init__(self, style: TrainedStyle, device: torch.device | str) -> None:
        self.device = usable_device(device)
        self.style = style
        self.net = network(style).to(self.device)
        self._one = torch.ones(1, device=self.device)
        self._run = CompiledOrEager(compilable(self.net), self.device)

    @property
    def compiled(self) -> bool:
        return self._run.compiled

    def __call__(self, image: Tensor) -> Tensor:
        if image.device != self.device or image.dtype != torch.float32:
            raise InputError(
                f"expected a float32 image on {self.device}, got {dtype_name(image.dtype)} on "
                f"{image.device}"
            )
        with out_of_memory(self.device, image), torch.inference_mode():
            return self._run(image, self._one)


def network(style: TrainedStyle) -> CINNet:
    """The one-style network of ``style``, in eval mode without gradients, on the CPU."""
    net = CINNet(num_styles=1)
    net.load_state_dict(style.state_dict, strict=True)
    return net.eval().requires_grad_(False)


def compilable(net: CINNet) -> Compilable:
    """``net`` as :mod:`neuralstyle.models.compiled` runs it: in the trained styles' shared
    package, with its own weights."""
    code = ("neuralstyle.models.cin_net", "neuralstyle.ops.instance_norm")
    return image_network("trained", net, torch.ones(1), MULTIPLE, code, template=template())


@functools.cache
def template() -> CINNet:
    """The one-style network the shared package is built from: the same weights on every
    machine (a fixed seed), so the package is too, whichever trained file asked for it first."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = CINNet(num_styles=1)
    return net.eval().requires_grad_(False)


_loaded: Recent[TrainedNetwork] = Recent(_CACHE_SIZE)


def load_trained(key: str, path: str | Path, device: torch.device | str) -> TrainedNetwork:
    """The process-wide network of the trained file ``path`` (``key``: its path, size and
    modification time, so a retrained file is read again) on ``device``.

    Raises:
        ModelError: the file is missing, not ours or damaged.
        DeviceError: CUDA asked for but absent.
    """
    dev = usable_device(device)
    # made outside the cache's lock: it may compile
    return _loaded.get_or_make(
        (key, str(dev)), lambda: TrainedNetwork(load_trained_style(path), dev)
    )


def clear_cache() -> None:
    """Drop every loaded trained network (for ``purge_caches``)."""
    _loaded.clear()
