"""Input guards shared by the style-conditioned transformer networks (the built-in styles'
:class:`~neuralstyle.models.cin_net.CINNet` and fast's
:class:`~neuralstyle.models.arbitrary_net.StyleTransformer`): one wording for both."""

from __future__ import annotations

from torch import Tensor

from neuralstyle.errors import InputError

__all__ = ["check_conditioned_input"]


def check_conditioned_input(
    net: str,
    image: Tensor,
    condition: Tensor,
    *,
    min_size: int,
    width: int,
    condition_name: str,
    needs: str,
) -> None:
    """Raise InputError unless ``image`` is ``(N, 3, H, W)`` with both sides at least
    ``min_size`` and ``condition`` is ``(width,)`` or ``(N, width)``. Messages start with
    ``net``; ``needs`` says who needs the size ("it needs"), ``condition_name`` what the
    condition is ("style_weights")."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise InputError(
            f"{net}: expected an image of shape (N, 3, H, W), got {tuple(image.shape)}"
        )
    h, w = image.shape[-2:]
    if min(h, w) < min_size:
        raise InputError(
            f"{net}: the image is {w}x{h} pixels; {needs} at least {min_size}x{min_size}"
        )
    n = image.shape[0]
    if condition.shape not in ((width,), (n, width)):
        raise InputError(
            f"{net}: expected {condition_name} of shape ({width},) or ({n}, {width}), "
            f"got {tuple(condition.shape)}"
        )
