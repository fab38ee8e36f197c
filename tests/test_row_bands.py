"""Frames too large for memory run in bands of rows (methods/row_bands.py): the bands put
together are the whole frame's render, without seams."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.errors import InputError
from neuralstyle.methods import adain, per_device
from neuralstyle.methods.row_bands import in_bands


@pytest.fixture(scope="module")
def model() -> adain.AdaINStylizer:
    return adain.load_adain("cpu")


def _picture(h: int, w: int, seed: int) -> torch.Tensor:
    from skimage import data, transform

    photo = data.astronaut() if seed == 0 else data.coffee()
    img = transform.resize(photo, (h, w), anti_aliasing=True).astype(np.float32)
    return torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()


def test_the_encoder_and_decoder_in_bands_equal_the_whole(model: adain.AdaINStylizer) -> None:
    x = _picture(264, 200, 0)  # a multiple of 8, as the method pads frames
    with torch.inference_mode():
        whole = model._encode(x, None)
        banded = model._encode(x, 64)
        assert banded.shape == whole.shape == (1, 512, 33, 25)
        torch.testing.assert_close(banded, whole, atol=1e-4, rtol=0)
        picture = model.decoder(whole)
        pieces = in_bands(model.decoder, whole, rows=8, halo=8, scale=Fraction(8))
        assert pieces.shape == picture.shape == (1, 3, 264, 200)
        torch.testing.assert_close(pieces, picture, atol=1e-4, rtol=0)


def test_a_frame_that_does_not_fit_renders_in_bands_without_seams(
    model: adain.AdaINStylizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With free memory for a band of 64 rows at a time (the style image too) the frame renders
    in bands and equals the render in one piece."""
    frame, painting = _picture(600, 180, 0), _picture(280, 200, 1)
    whole = model.stylize(frame, [painting])
    monkeypatch.setattr(adain, "_FIXED_BYTES", 0)  # the networks' share, which bands keep
    width = 180 + 2 * adain._BORDER
    rows_free = 64 + 2 * adain._HALO + 30
    free = int(
        (
            adain._WHOLE_BYTES_PER_PIXEL * (600 + 2 * adain._BORDER) * width
            + adain._BYTES_PER_PIXEL * width * rows_free
        )
        / adain._BAND_BUDGET
    )
    assert adain.estimate_memory((600, 180)) > free
    monkeypatch.setattr(per_device, "free_memory", lambda device: free)
    assert model._band_rows((1, 600, 180), "this", "that") == 64
    banded = model.stylize(frame, [painting])
    torch.testing.assert_close(banded, whole, atol=2e-4, rtol=0)
    # through the engine (which sizes the style image to the frame): an answer, not a refusal
    more = free + int(adain._BYTES_PER_PIXEL * 300 * rows_free / adain._BAND_BUDGET)
    monkeypatch.setattr(per_device, "free_memory", lambda device: more)
    out = neuralstyle.stylize(
        frame[0].permute(1, 2, 0).numpy(), painting[0].permute(1, 2, 0).numpy(), method="adain"
    )
    assert out.shape == (600, 180, 3) and np.isfinite(out).all()


def test_bands_must_be_whole_at_the_scale() -> None:
    with pytest.raises(InputError, match="must be whole at scale 1/8"):
        in_bands(lambda x: x, torch.zeros(1, 1, 64, 8), rows=12, halo=8, scale=Fraction(1, 8))
    x = torch.arange(40.0).reshape(1, 1, 10, 4)
    assert torch.equal(in_bands(lambda t: t * 2, x, rows=3, halo=1, scale=Fraction(1)), x * 2)
