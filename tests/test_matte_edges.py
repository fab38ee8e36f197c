"""Cut-outs: the colour outside a matte is filled before the network sees it (issue 15, item 12).

Outside a premultiplied cut-out's matte, unpremultiplied colour is 0/0 (black); the network
responded to that edge with a pale rim a few pixels wide inside the matte edge. The rim metric
(tests/matte_support.py) compares a render of the cut-out with a render of the whole photograph
cut by the same matte.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralstyle
from matte_support import cutout, display_colour, photo, rim_metric
from neuralstyle.engine import pipeline
from neuralstyle.engine.edge_extend import TRUSTED_ALPHA, edge_extend

# --- the fill ----------------------------------------------------------------------------------


def _two_colour_half(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Left half covered (top rows red, bottom rows blue; opaque, then semi-transparent, then a
    faint column at the edge), right half transparent with noise for colour; odd sides."""
    g = torch.Generator().manual_seed(5)
    colour = torch.rand(3, 37, 41, generator=g)
    colour[:, :18, :21] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    colour[:, 18:, :21] = torch.tensor([0.1, 0.1, 0.9])[:, None, None]
    alpha = torch.zeros(37, 41)
    alpha[:, :10] = 1.0
    alpha[:, 10:20] = TRUSTED_ALPHA  # a faded layer: its colour is still its own
    alpha[:, 20] = TRUSTED_ALPHA / 2  # faint: blended half with the fill
    return colour.to(device), alpha.to(device)


def test_fill_extends_the_edge_colours_outward(device: str) -> None:
    colour, alpha = _two_colour_half(device)
    filled = edge_extend(colour, alpha)
    assert filled.shape == colour.shape and filled.device == colour.device
    # covered pixels come back bit-exactly, opaque or not
    assert torch.equal(filled[:, :, :20], colour[:, :, :20])
    assert not torch.equal(filled[:, :, 20:], colour[:, :, 20:])
    # just outside the edge each half continues its own colour (rows away from the red/blue
    # seam); farther out the fill fades towards the mean of the covered colour
    red, blue = torch.tensor([0.9, 0.1, 0.1]), torch.tensor([0.1, 0.1, 0.9])
    for rows, expected in ((slice(2, 12), red), (slice(25, 35), blue)):
        near = filled[:, rows, 21:24].cpu().mean((1, 2))
        torch.testing.assert_close(near, expected, atol=0.06, rtol=0)
    # a fill mixes covered colours only, never the noise under it: green is 0.1 in all of them
    assert float(filled.min()) >= 0.1 - 1e-6 and float(filled.max()) <= 0.9 + 1e-6
    assert float((filled[1] - 0.1).abs().max()) < 1e-6


def test_fill_is_deterministic_and_the_same_on_every_device(device: str) -> None:
    colour, alpha = _two_colour_half(device)
    first, second = edge_extend(colour, alpha), edge_extend(colour, alpha)
    assert torch.equal(first, second)
    cpu = edge_extend(colour.cpu(), alpha.cpu())
    torch.testing.assert_close(first.cpu(), cpu, atol=1e-6, rtol=0)


@pytest.mark.parametrize("value", [0.0, TRUSTED_ALPHA, 0.5, 1.0])
def test_fill_leaves_uniform_alpha_alone(value: float) -> None:
    """Alpha >= TRUSTED_ALPHA everywhere: nothing to fill; 0 everywhere: nothing to fill from."""
    colour = torch.rand(3, 9, 14, generator=torch.Generator().manual_seed(1))
    assert torch.equal(edge_extend(colour, torch.full((9, 14), value)), colour)


# --- renders -----------------------------------------------------------------------------------


@pytest.fixture
def fill_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes the render asked the fill for, the real fill still running."""
    calls: list[tuple[int, ...]] = []

    def spy(colour: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(colour.shape))
        return edge_extend(colour, alpha)

    monkeypatch.setattr(pipeline, "edge_extend", spy)
    return calls


@pytest.fixture(scope="module")
def photo_rgb() -> np.ndarray:
    return photo("chelsea", 64)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_images_without_transparent_pixels_render_as_before(
    photo_rgb: np.ndarray, fill_calls: list, dtype: type
) -> None:
    """RGB, RGBA with alpha 1 everywhere, and a faded RGBA layer (alpha 0.1 to 1)
    never reach the fill, so their renders are what they were before it, bit for bit; the
    opaque RGBA colour equals the RGB render."""
    rgb = photo_rgb if dtype == np.uint8 else (photo_rgb / np.float32(255.0)).astype(np.float32)
    top = 255 if dtype == np.uint8 else 1.0
    rgba = np.concatenate([rgb, np.full_like(rgb[..., :1], top)], axis=-1)
    out_rgb = neuralstyle.stylize(rgb, 25, device="cpu")
    for premultiplied in (True, False):
        out_rgba = neuralstyle.stylize(rgba, 25, premultiplied=premultiplied, device="cpu")
        assert np.array_equal(out_rgba[..., :3], out_rgb)
        assert np.array_equal(out_rgba[..., 3], rgba[..., 3])
    faded = rgba.astype(np.float32)
    faded[..., 3] = np.linspace(0.1, 1.0, rgb.shape[1]) * top
    faded[..., :3] *= faded[..., 3:] / top
    neuralstyle.stylize(faded.astype(dtype), 25, device="cpu")
    assert fill_calls == []


def test_cutout_keeps_alpha_and_its_transparent_surround(fill_calls: list) -> None:
    cut = cutout(photo("chelsea", 96))
    out = neuralstyle.stylize(cut.premultiplied, 25, device="cpu")
    assert fill_calls == [(3, 96, 96)]
    assert np.array_equal(out[..., 3], cut.premultiplied[..., 3])
    clear = cut.alpha == 0
    assert np.array_equal(out[clear], cut.premultiplied[clear])  # nothing added outside
    still = neuralstyle.stylize(cut.premultiplied, 25, strength=0.0, device="cpu")
    assert np.array_equal(still, cut.premultiplied)  # strength 0: a bit-exact pass-through


@pytest.mark.parametrize("form", ["premultiplied-float", "straight-uint8"])
@pytest.mark.parametrize("name", ["chelsea", "astronaut"])
def test_cutout_has_no_pale_rim(name: str, form: str) -> None:
    """The regression: built-in style 25 (mosaic), which showed the rim most, on 128 px cut-outs.

    Before the fill the rim metric was +0.350 (chelsea) and +0.315 (astronaut), premultiplied
    float and straight uint8 alike; after it +0.022 and -0.006. The bound 0.08: with the fill,
    4 photos x styles 19 and 25 at 128, 160 and 192 px gave -0.08 to +0.10, mosaic alone -0.072
    to +0.058 (what the metric scatters when the style redraws the element). Before the fill
    mosaic gave +0.16 to +0.38 on the same cut-outs.
    """
    cut = cutout(photo(name, 128))
    premultiplied = form == "premultiplied-float"
    if premultiplied:
        source, whole = cut.premultiplied, cut.opaque
    else:
        source = cut.straight
        whole = np.concatenate([photo(name, 128), np.full_like(source[..., :1], 255)], axis=-1)
    out = neuralstyle.stylize(source, 25, premultiplied=premultiplied, device="cpu")
    ref = neuralstyle.stylize(whole, 25, premultiplied=premultiplied, device="cpu")
    metric = rim_metric(
        display_colour(out, premultiplied), display_colour(ref, premultiplied), cut.alpha
    )
    assert abs(metric["rim"]) < 0.08, metric
