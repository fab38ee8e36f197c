"""Views over pixel memory: rectangles, and the torch-backed bottom-up view the CUDA path uses,
checked on CPU tensors against the numpy view (same orientation logic, no GPU needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralstyle.engine.pipeline import render_frame
from neuralstyle.engine.pixels import CpuPixels, CudaPixels, Rect
from neuralstyle.engine.request import StyleRequest
from neuralstyle.engine.stylist import Stylist


def test_rect_from_ofx_bounds_is_upright() -> None:
    r = Rect.from_ofx((10, -5, 40, 15))
    assert (r.top, r.left, r.bottom, r.right) == (-15, 10, 5, 40)
    assert (r.height, r.width) == (20, 30)


def test_bands_outside_tile_the_rest_exactly() -> None:
    outer = Rect(0, 0, 10, 12)
    inner = Rect(3, 2, 7, 9)
    covered = np.zeros((10, 12), int)
    for band in [*outer.bands_outside(inner), inner]:
        covered[band.top : band.bottom, band.left : band.right] += 1
    assert (covered == 1).all()
    assert outer.bands_outside(Rect(0, 0, 0, 0)) == [outer]
    assert outer.bands_outside(outer) == []


def test_bottom_up_tensor_view_matches_numpy_view() -> None:
    upright = np.arange(5 * 7 * 4, dtype=np.float32).reshape(5, 7, 4)
    cpu = CpuPixels(upright)
    torch_view = CudaPixels(torch.from_numpy(upright[::-1].copy()))  # stored bottom-up
    rect = Rect(1, 2, 4, 6)
    device = torch.device("cpu")
    assert torch.equal(cpu.view(rect).to_planar(device), torch_view.view(rect).to_planar(device))
    assert torch.equal(
        cpu.view(rect).last_channel(device), torch_view.view(rect).last_channel(device)
    )
    assert torch_view.dtype == np.float32 and torch_view.shape == (5, 7, 4)


@pytest.mark.parametrize("dtype", [np.uint8, np.float16])
def test_render_through_tensor_views_equals_numpy_views(textured: np.ndarray, dtype: type) -> None:
    scale = 255 if dtype == np.uint8 else 1
    upright = np.concatenate([textured[:20, :28], np.ones((20, 28, 1), np.float32)], axis=2)
    upright = (upright * scale).astype(dtype)
    request = StyleRequest.create(4, device="cpu")
    src_rect = Rect(0, 0, 20, 28)
    window = Rect(-2, 3, 15, 25)  # sticks out above the source: those rows become 0

    expected = np.full((17, 22, 4), 9, dtype)
    render_frame(
        CpuPixels(upright), src_rect, CpuPixels(expected), window, Stylist(request),
        premultiplied=True,
    )  # fmt: skip
    bottom_up = torch.full((17, 22, 4), 9, dtype=getattr(torch, np.dtype(dtype).name))
    render_frame(
        CudaPixels(torch.from_numpy(upright[::-1].copy())),
        src_rect,
        CudaPixels(bottom_up),
        window,
        Stylist(request),
        premultiplied=True,
    )
    assert bottom_up.numpy()[::-1].tobytes() == expected.tobytes()
    assert not expected[:2].any()
