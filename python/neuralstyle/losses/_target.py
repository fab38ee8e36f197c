"""A loss function of the features against a fixed target, as a module (the target and an
optional mask are buffers, so they follow ``.to(device)``)."""

from __future__ import annotations

from torch import Tensor, nn


class TargetLoss(nn.Module):
    """Base of the loss modules: subclasses set :meth:`loss` to their function."""

    target: Tensor
    mask: Tensor | None

    def __init__(self, target: Tensor, mask: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.register_buffer("mask", None if mask is None else mask.detach())

    def loss(self, input: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        return self.loss(input, self.target, self.mask)
