"""Colour and alpha: the sRGB curves, premultiplication, and the render's colour path.

The render tests swap the network for a known function (identity, constant grey) so that what
is checked is the colour arithmetic around it, exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.engine.stylist import Stylist
from neuralstyle.pixel_encoding import (
    premultiply,
    srgb_decode,
    srgb_encode,
    unpremultiply,
)

DTYPES = (np.uint8, np.uint16, np.float16, np.float32)


# --- curves -----------------------------------------------------------------------------------


def test_srgb_reference_values() -> None:
    linear = torch.tensor([0.0, 0.0031308, 0.18, 0.5, 1.0])
    encoded = srgb_encode(linear)
    expected = torch.tensor([0.0, 0.040449936, 0.46135613, 0.7353570, 1.0])
    torch.testing.assert_close(encoded, expected, rtol=0, atol=2e-6)


def test_srgb_round_trip_over_the_whole_line() -> None:
    # negatives (linear segment), the knee, [0, 1] and highlights far above 1
    linear = torch.cat([torch.linspace(-2.0, 0.01, 2001), torch.logspace(-2, 3, 2001)])
    back = srgb_decode(srgb_encode(linear))
    torch.testing.assert_close(back, linear, rtol=2e-6, atol=1e-7)
    encoded = torch.linspace(-0.5, 4.0, 4001)
    torch.testing.assert_close(srgb_encode(srgb_decode(encoded)), encoded)


def test_srgb_curves_are_monotone_and_continuous() -> None:
    x = torch.linspace(-1.0, 8.0, 100_001, dtype=torch.float64)
    for curve in (srgb_encode, srgb_decode):
        assert bool((curve(x).diff() > 0).all())


def test_premultiplication_round_trip_keeps_glows() -> None:
    rgb = torch.tensor([[[0.3]], [[2.5]], [[-0.2]]]).expand(3, 1, 4).contiguous()
    alpha = torch.tensor([[0.0, 0.5, 1.0, 0.25]])
    straight = unpremultiply(rgb, alpha)
    # alpha 0: the colour (an additive glow) is kept, not divided by zero nor zeroed
    assert torch.equal(straight[:, :, 0], rgb[:, :, 0])
    assert torch.equal(premultiply(straight, alpha), rgb)


# --- the render's colour path, with a stand-in network ------------------------------------------


@pytest.fixture
def network(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Callable[[torch.Tensor], torch.Tensor]], None]]:
    def use(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        monkeypatch.setattr(Stylist, "__call__", lambda self, image, **_: fn(image))

    yield use


def _image(dtype: type, channels: int, rng: np.random.Generator) -> np.ndarray:
    h, w = 9, 13
    if np.dtype(dtype).kind == "u":
        top = np.iinfo(dtype).max
        img = rng.integers(0, top + 1, (h, w, channels), dtype=np.int64).astype(dtype)
        if channels == 4:
            img[..., :3] = np.minimum(img[..., :3], img[..., 3:])  # valid premultiplied
            img[0, :, 3] = 0
            img[0, :3, :3] = 0
        return img
    img = rng.normal(0.5, 1.5, (h, w, channels)).astype(dtype)  # negatives and highlights
    img[0, 0, :3] = [40.0, 0.0, -3.0]
    if channels == 4:
        img[..., 3] = rng.random((h, w)).astype(dtype)
        img[1, :, 3] = 0  # alpha 0 with colour: additive glows
    return img


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_network_returns_the_source(network, dtype: type, channels: int) -> None:
    """Encode, clip, decode, unpremultiply, premultiply, round: with a network that changes
    nothing the frame comes back (bit-exactly for integer and half pixels)."""
    network(lambda image: image)
    img = _image(dtype, channels, np.random.default_rng(7))
    out = neuralstyle.stylize(img, strength=1.0, device="cpu")
    assert out.dtype == img.dtype and out.shape == img.shape
    if dtype == np.float32:
        np.testing.assert_allclose(out, img, rtol=1e-6, atol=1e-6)
        assert np.array_equal(out[..., 3:], img[..., 3:])
    else:
        assert np.array_equal(out, img)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_highlights_and_negatives_survive(network, dtype: type) -> None:
    """What the network cannot see (outside [0, 1]) is added back in linear light."""
    grey = 0.5  # encoded; decodes to ~0.214 linear
    network(lambda image: torch.full_like(image, grey))
    img = np.array([[[40.0, 2.0, -3.0], [0.5, 1.0, 0.0]]], dtype=dtype).repeat(6, 0).repeat(3, 1)
    out = neuralstyle.stylize(img, device="cpu").astype(np.float64)
    styled = float(srgb_decode(torch.tensor(grey, dtype=torch.float64)))
    expected = img.astype(np.float64) - np.clip(img, 0.0, 1.0) + styled
    np.testing.assert_allclose(out, expected, rtol=1e-3 if dtype == np.float16 else 1e-6, atol=1e-6)
    assert out[0, 0, 0] > 39.0 and out[0, 0, 2] < -2.0


def test_premultiplied_rgba_is_styled_unpremultiplied(network) -> None:
    network(lambda image: 1.0 - image)  # an invert: shows which colour the network saw
    img = np.zeros((6, 6, 4), np.float32)
    img[..., 3] = 0.5
    img[..., :3] = 0.25 * 0.5  # straight 0.25, premultiplied by 0.5
    out = neuralstyle.stylize(img, device="cpu")
    seen = srgb_encode(torch.tensor(0.25))
    straight = float(srgb_decode(1.0 - seen))
    np.testing.assert_allclose(out[..., :3], straight * 0.5, rtol=1e-6)
    assert np.array_equal(out[..., 3], img[..., 3])
    # the same pixels declared straight are seen as 0.125, not 0.25
    plain = neuralstyle.stylize(img, premultiplied=False, device="cpu")
    assert not np.allclose(plain[..., :3], out[..., :3])


def test_integer_pixels_are_not_curve_encoded(network) -> None:
    seen: list[torch.Tensor] = []
    network(lambda image: seen.append(image.clone()) or image)
    img = np.full((6, 6, 3), 51, np.uint8)
    neuralstyle.stylize(img, device="cpu")
    torch.testing.assert_close(seen[0], torch.full((3, 6, 6), 51 / 255))


def test_transparent_pixels_are_left_untouched(network) -> None:
    """Premultiplied alpha 0 (a transparent surround, or a glow): the effect does not apply, so a
    merge over a background adds nothing there."""
    network(lambda image: 1.0 - image)  # changes every pixel it is allowed to
    img = np.zeros((6, 6, 4), np.float32)
    img[:3, :, :3] = 0.7  # a glow: colour without coverage
    img[3:, :, :3] = 0.2
    img[3:, :, 3] = 0.4
    out = neuralstyle.stylize(img, device="cpu")
    assert np.array_equal(out[:3], img[:3])
    assert not np.allclose(out[3:, :, :3], img[3:, :, :3])
    assert np.array_equal(out[..., 3], img[..., 3])


@pytest.mark.parametrize("premultiplied", [True, False])
def test_network_sees_the_cutouts_colour_extended_not_black(network, premultiplied: bool) -> None:
    """Outside a matte the network sees the element's colour extended outward (edge extend),
    not the black 0/0 of the unpremultiplied surround that left a pale rim inside the edge."""
    seen: list[torch.Tensor] = []
    network(lambda image: seen.append(image.clone()) or 1.0 - image)
    img = np.zeros((8, 12, 4), np.float32)
    img[:, :6, :3] = 0.25  # covered: straight 0.25 linear, alpha 1
    img[:, :6, 3] = 1.0
    img[:, 6, 3] = 0.5  # a soft column: straight 0.25, premultiplied 0.125
    img[:, 6, :3] = 0.125 if premultiplied else 0.25
    out = neuralstyle.stylize(img, premultiplied=premultiplied, device="cpu")
    expected = srgb_encode(torch.tensor(0.25))
    torch.testing.assert_close(seen[0], torch.full((3, 8, 12), float(expected)))
    # the covered and the soft pixels take the network's answer for what it saw there
    styled = float(srgb_decode(1.0 - expected))
    np.testing.assert_allclose(out[:, :6, :3], styled, rtol=1e-5)
    np.testing.assert_allclose(out[:, 6, :3], styled * (0.5 if premultiplied else 1.0), rtol=1e-5)
    assert np.array_equal(out[..., 3], img[..., 3])
    if premultiplied:
        assert np.array_equal(out[:, 7:], img[:, 7:])  # the transparent surround stays empty
