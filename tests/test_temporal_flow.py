"""Optical flow, warping and the warping error (neuralstyle.temporal, metrics.warping_error).

Frames with exact known motion: views of a blurred photograph under known affine maps (bicubic
samples, so the flow between two views is exact up to the photograph's own detail), and a textured
sprite moving over a static photograph (occlusions). Frames are 160x120.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data, transform
from torch import Tensor

from neuralstyle import metrics
from neuralstyle.errors import InputError
from neuralstyle.temporal.flow import Flow, compose, flow_between, flows_both_ways
from neuralstyle.temporal.warp import inside, warp

H, W = 120, 160
MARGIN = 0.25  # of the frame, around the view, so pans and zooms stay on the photograph
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _photograph(name: str) -> np.ndarray:
    """The photograph resized to the frame plus margins and blurred (sigma 1 px) so that views
    resampled from it are nearly alias-free: float64 (H', W', 3)."""
    size = (round(H * (1 + 2 * MARGIN)), round(W * (1 + 2 * MARGIN)))
    image = transform.resize(getattr(data, name)(), size, order=3, anti_aliasing=True)
    return np.asarray(ndimage.gaussian_filter(image, (1.0, 1.0, 0.0)))


def _view(photo: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Frame pixel (x, y) shows the photograph at ``affine @ (x, y, 1)`` (frame pixels, origin at
    the margin): uint8 (H, W, 3)."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    px = affine[0, 0] * xs + affine[0, 1] * ys + affine[0, 2] + MARGIN * W
    py = affine[1, 0] * xs + affine[1, 1] * ys + affine[1, 2] + MARGIN * H
    channels = [ndimage.map_coordinates(photo[..., c], [py, px], order=3) for c in range(3)]
    frame: np.ndarray = np.rint(np.clip(np.stack(channels, axis=-1), 0, 1) * 255)
    return frame.astype(np.uint8)


def _true_flow(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Exact backward flow between the views ``target`` and ``source`` (their affine maps)."""
    full = [np.vstack([a, [0.0, 0.0, 1.0]]) for a in (target, source)]
    m = np.linalg.inv(full[1]) @ full[0]
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    qx = m[0, 0] * xs + m[0, 1] * ys + m[0, 2]
    qy = m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
    return np.stack([qx - xs, qy - ys], axis=-1)


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def _zoom(scale: float) -> np.ndarray:
    """Zoomed in by ``scale`` about the frame's centre."""
    s, cx, cy = 1.0 / scale, (W - 1) / 2, (H - 1) / 2
    return np.array([[s, 0.0, cx - s * cx], [0.0, s, cy - s * cy]])


def _pan(name: str, frames: int, dx: float, dy: float) -> list[np.ndarray]:
    photo = _photograph(name)
    return [_view(photo, _shift(t * dx, t * dy)) for t in range(frames)]


def _interior(mask: np.ndarray, border: int) -> np.ndarray:
    out = mask.copy()
    out[:border], out[-border:], out[:, :border], out[:, -border:] = False, False, False, False
    return out


# --- flow --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "motion"),
    [
        ("astronaut", _shift(1.5, 0.5)),
        ("coffee", _shift(3.0, -2.0)),
        ("chelsea", _shift(-1.0, 0.0)),
        ("astronaut", _zoom(1.03)),
    ],
    ids=["astronaut-pan-subpixel", "coffee-pan-integer", "chelsea-pan-integer", "astronaut-zoom"],
)
def test_flow_matches_known_motion(name: str, motion: np.ndarray) -> None:
    photo = _photograph(name)
    target, source = _view(photo, IDENTITY), _view(photo, motion)
    flow = flow_between(target, source)
    assert isinstance(flow, Flow)
    assert flow.vectors.shape == (H, W, 2) and flow.vectors.dtype == np.float32
    assert flow.confidence.shape == (H, W) and flow.confidence.dtype == np.float32
    assert set(np.unique(flow.confidence)) <= {0.0, 1.0}
    trusted = _interior(flow.confidence > 0, 8)
    assert trusted.sum() > 0.9 * _interior(np.ones((H, W), bool), 8).sum()
    error = np.linalg.norm(flow.vectors - _true_flow(IDENTITY, motion), axis=-1)
    assert error[trusted].mean() < 0.25


def test_flow_same_for_uint8_and_float() -> None:
    a, b = _pan("coffee", 2, 1.5, 0.5)
    flow = flow_between(a, b)
    again = flow_between(a.astype(np.float32) / 255, b.astype(np.float64) / 255)
    assert np.array_equal(flow.vectors, again.vectors)
    assert np.array_equal(flow.confidence, again.confidence)


def _sprite_frames(step: int) -> tuple[np.ndarray, np.ndarray]:
    """A 32x32 textured sprite (a face) at x=50, then at x=50+step, over a static photograph."""
    background = transform.resize(data.coffee(), (H, W), anti_aliasing=True)
    sprite = transform.resize(data.astronaut()[60:260, 140:340], (32, 32), anti_aliasing=True)
    frames = []
    for x0 in (50, 50 + step):
        frame = background.copy()
        frame[44:76, x0 : x0 + 32] = sprite
        frames.append(np.rint(frame * 255).astype(np.uint8))
    return frames[0], frames[1]


@pytest.mark.parametrize("step", [3, 4, 6, 16])
def test_confidence_rejects_the_sprite_trail(step: int) -> None:
    before, after = _sprite_frames(step)
    # The later frame is the target: the strip the sprite uncovered was hidden in the source.
    flow = flow_between(after, before)
    assert flow.confidence[44:76, 50 : 50 + step].mean() <= 0.02
    # The other way round, the strip the sprite is about to cover has no match either.
    assert flow_between(before, after).confidence[44:76, 82 : 82 + step].mean() <= 0.02
    # Static background (20 px from the sprite, whose flow DIS smears, and off the frame's edge).
    static = np.ones((H, W), bool)
    static[44 - 20 : 76 + 20, 50 - 20 : 82 + step + 20] = False
    assert flow.confidence[_interior(static, 3)].min() == 1.0
    # Hardly a pixel is trusted with a wrong flow (a ghost once warped): the sprite moved by -step.
    truth = np.zeros((H, W, 2), np.float32)
    truth[44:76, 50 + step : 82 + step, 0] = -step
    wrong = np.linalg.norm(flow.vectors - truth, axis=-1) > 1.0
    assert np.count_nonzero(wrong & (flow.confidence > 0)) <= 2


def test_flow_is_deterministic_across_calls_and_threads() -> None:
    a, b = _pan("astronaut", 2, 1.5, 0.5)
    first = flow_between(a, b)
    threads, optimised = cv2.getNumThreads(), cv2.useOptimized()
    results = []
    try:
        for count in (1, 4, 2):
            cv2.setNumThreads(count)
            results.append(flow_between(a, b))
    finally:
        cv2.setNumThreads(threads)
    for flow in results:
        assert np.array_equal(flow.vectors, first.vectors)
        assert np.array_equal(flow.confidence, first.confidence)
    assert cv2.useOptimized() == optimised  # switched off only around the call


def test_flow_exception() -> None:
    a, b = _pan("coffee", 2, 1.0, 0.0)
    with pytest.raises(InputError, match="frames differ in size"):
        flow_between(a, b[:-1])
    with pytest.raises(InputError, match=r"expected source as an \(H, W, 3\) RGB array"):
        flow_between(a, b[..., 0])
    with pytest.raises(InputError, match="expected target as uint8 or float"):
        flow_between(a.astype(np.int16), b)
    with pytest.raises(InputError, match="expected preset in"):
        flow_between(a, b, preset="ultra")
    with pytest.raises(InputError, match="at least 2x2"):
        flow_between(a[:1], b[:1])


# --- warp --------------------------------------------------------------------------------------


def _constant_flow(dx: float, dy: float, *, size: tuple[int, int, int], device: str) -> Tensor:
    """A flow of (dx, dy) everywhere, of size (N, H, W)."""
    n, h, w = size
    flow = torch.empty(n, 2, h, w, device=device)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


@pytest.mark.parametrize(("dx", "dy"), [(3, -2), (0, 5), (-7, 1)])
def test_warp_integer_shift_is_exact(device: str, dx: int, dy: int) -> None:
    original = torch.rand(2, 3, 24, 32, generator=torch.Generator().manual_seed(0)).to(device)
    # source(x) = original(x - d), so original(x) = source(x + d): the flow is d.
    source = torch.roll(original, shifts=(dy, dx), dims=(2, 3))
    flow = _constant_flow(dx, dy, size=(2, 24, 32), device=device)
    valid = inside(flow).bool().expand_as(original)
    assert valid.float().mean() > 0.5
    torch.testing.assert_close(warp(source, flow)[valid], original[valid], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("dx", "dy"), [(1.5, 0.5), (-0.25, 2.75), (0.0, -3.3)])
def test_warp_subpixel_shift_is_exact_on_bilinear_images(device: str, dx: float, dy: float) -> None:
    # Bilinear interpolation reproduces a + b x + c y + d x y exactly: warping its shifted copy
    # by the shift gives the image back wherever the samples fall inside.
    ys, xs = torch.meshgrid(torch.arange(20.0), torch.arange(28.0), indexing="ij")

    def image(ox: float, oy: float) -> torch.Tensor:
        x, y = xs - ox, ys - oy
        planes = [0.2 + 0.01 * x, 0.7 - 0.02 * y + 0.001 * x * y, 0.5 + 0.003 * x - 0.004 * y]
        return torch.stack(planes)[None].to(device)

    flow = _constant_flow(dx, dy, size=(1, 20, 28), device=device)
    valid = inside(flow).bool().expand(1, 3, 20, 28)
    out = warp(image(dx, dy), flow)
    torch.testing.assert_close(out[valid], image(0.0, 0.0)[valid], atol=1e-5, rtol=0)


def test_warp_matches_a_bilinear_reference_with_zeros_outside(device: str) -> None:
    gen = torch.Generator().manual_seed(3)
    image = torch.rand(1, 2, 15, 19, generator=gen, dtype=torch.float64)
    flow = (torch.rand(1, 2, 15, 19, generator=gen, dtype=torch.float64) - 0.5) * 8
    out = warp(image.to(device), flow.to(device)).cpu()
    ys, xs = np.mgrid[0:15, 0:19].astype(np.float64)
    coords = [ys + flow[0, 1].numpy(), xs + flow[0, 0].numpy()]
    for c in range(2):
        want = ndimage.map_coordinates(image[0, c].numpy(), coords, order=1, mode="grid-constant")
        np.testing.assert_allclose(out[0, c].numpy(), want, atol=1e-10)


def test_warp_half_precision_samples_in_float32(device: str) -> None:
    # 2K wide: a float16 grid would put samples up to half a pixel off, and on stripes one
    # pixel wide that is a change of up to a half.
    stripes = (torch.arange(2048, device=device) % 2).float().expand(1, 1, 2, 2048)
    flow = _constant_flow(0.25, 0.0, size=(1, 2, 2048), device=device)
    out = warp(stripes.half(), flow.half())
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), warp(stripes, flow), atol=1e-3, rtol=0)


def test_inside(device: str) -> None:
    flow = torch.zeros(1, 2, 4, 5, device=device)
    assert inside(flow).shape == (1, 1, 4, 5) and bool(inside(flow).all())
    flow[0, 0, :, 4] = 0.01  # just past the last pixel centre
    flow[0, 1, 0, 0] = -0.01
    flow[0, 0, 1, 1] = 3.0  # lands exactly on the last centre
    got = inside(flow)[0, 0]
    assert not bool(got[:, 4].any()) and got[0, 0] == 0 and got[1, 1] == 1
    far = _constant_flow(100.0, 0.0, size=(1, 4, 5), device=device)
    assert not bool(inside(far).any())
    assert not bool(warp(torch.ones(1, 3, 4, 5, device=device), far).any())


def test_warp_exception() -> None:
    image, flow = torch.rand(1, 3, 8, 8), torch.zeros(1, 2, 8, 8)
    with pytest.raises(InputError, match=r"expected flow of shape \(N, 2, H, W\)"):
        warp(image, flow[:, :1])
    with pytest.raises(InputError, match="differ in batch or size"):
        warp(image, flow[..., :7])
    with pytest.raises(InputError, match="floating"):
        warp(image.to(torch.uint8), flow)
    with pytest.raises(InputError, match=r"floating \(N, C, H, W\) image, got ndarray"):
        warp(image.numpy(), flow)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least 2x2"):
        inside(flow[..., :1])


# --- warping error -----------------------------------------------------------------------------


def test_warping_error_of_the_sources_is_small() -> None:
    frames = _pan("astronaut", 4, 3.0, -2.0)
    assert metrics.warping_error(frames, frames) < 1e-4
    subpixel = _pan("astronaut", 4, 1.5, 0.5)
    assert metrics.warping_error(subpixel, subpixel) < 1e-3


def test_warping_error_grows_with_per_frame_noise() -> None:
    frames = [f.astype(np.float32) / 255 for f in _pan("coffee", 4, 3.0, -2.0)]
    rng = np.random.default_rng(0)
    base = metrics.warping_error(frames, frames)
    errors = []
    for sigma in (0.01, 0.03, 0.06):
        noisy = [np.clip(f + rng.normal(0, sigma, f.shape), 0, 1) for f in frames]
        errors.append(metrics.warping_error(noisy, frames))
        # An integer pan warps without interpolation: independent noise on two frames adds
        # 2 sigma^2 per channel (a little less where clipping bites).
        assert errors[-1] - base == pytest.approx(6 * sigma**2, rel=0.2)
    assert base < errors[0] < errors[1] < errors[2]


def test_warping_error_scores_flicker_above_a_stable_stylisation() -> None:
    frames = [f.astype(np.float32) / 255 for f in _pan("chelsea", 5, 1.5, 0.5)]
    # A stand-in stylisation that follows the content (a tone curve and a channel swap) ...
    stable = [np.sqrt(f[..., ::-1]) for f in frames]
    # ... and the same with strokes redrawn every frame: a fresh low-frequency pattern each time.
    rng = np.random.default_rng(1)
    flicker = [
        np.clip(s + 0.1 * ndimage.gaussian_filter(rng.normal(0, 3, s.shape), (3, 3, 0)), 0, 1)
        for s in stable
    ]
    steady, boiling = metrics.warping_error(stable, frames), metrics.warping_error(flicker, frames)
    assert boiling > 20 * steady


def test_warping_error_exception() -> None:
    frames = _pan("coffee", 3, 1.0, 0.0)
    with pytest.raises(InputError, match="at least 2"):
        metrics.warping_error(frames[:1], frames[:1])
    with pytest.raises(InputError, match="equally many"):
        metrics.warping_error(frames, frames[:2])
    with pytest.raises(InputError, match="differ in size"):
        metrics.warping_error(frames, [*frames[:2], frames[2][:-1]])
    with pytest.raises(InputError, match=r"outputs\[1\]"):
        metrics.warping_error([frames[0], frames[1][..., 0], frames[2]], frames)


def test_both_ways_gives_each_direction_the_bits_of_flow_between() -> None:
    from skimage import data, transform

    photo = transform.resize(data.astronaut(), (60, 80), anti_aliasing=True)
    a = (photo * 255 + 0.5).astype(np.uint8)
    b = np.ascontiguousarray(np.roll(a, (1, 2), axis=(0, 1)))
    there, back = flows_both_ways(a, b)
    for got, want in ((there, flow_between(a, b)), (back, flow_between(b, a))):
        assert np.array_equal(got.vectors, want.vectors)
        assert np.array_equal(got.confidence, want.confidence)


@pytest.mark.parametrize("motion", [_shift(3.0, -2.0), _zoom(1.03)], ids=["pan", "zoom"])
def test_a_flow_of_shrunk_frames_brought_back_follows_the_motion(motion: np.ndarray) -> None:
    """Consolidation's flow of large frames runs on pictures shrunk by a whole factor
    (``display_for_flow``) and is resized back where it is used: it still follows the motion;
    the trust mask stays 0/1 and shrinks a little at the edges of what was rejected."""
    from neuralstyle.temporal.flow import CONSOLIDATION_SIDE, shrink_factor

    photo = _photograph("coffee")
    target, source = _view(photo, IDENTITY), _view(photo, motion)
    assert shrink_factor(H, W) == 1 and shrink_factor(1080, 1920) == 2
    assert shrink_factor(2160, 3840) == 4 and shrink_factor(CONSOLIDATION_SIDE + 1, 8) == 2
    full = flow_between(target, source)
    coarse = flow_between(target[::2, ::2].copy(), source[::2, ::2].copy()).resized(H, W)
    assert coarse.vectors.shape == (H, W, 2) and coarse.confidence.shape == (H, W)
    assert set(np.unique(coarse.confidence)) <= {0.0, 1.0}
    trusted = _interior(coarse.confidence > 0, 8)
    # (40x30 coarse frames: the margins of the checks weigh more than at a real size)
    assert trusted.sum() > 0.6 * _interior(np.ones((H, W), bool), 8).sum()
    error = np.linalg.norm(coarse.vectors - _true_flow(IDENTITY, motion), axis=-1)
    assert error[trusted].mean() < 0.5
    assert full.resized(H, W) is full


def test_compose_chains_two_flows_and_their_trust() -> None:
    h, w = 24, 32
    first = Flow(np.tile(np.float32([1.5, 0.5]), (h, w, 1)), np.ones((h, w), np.float32))
    untrusted = np.ones((h, w), np.float32)
    untrusted[8:12, 10:14] = 0.0  # an occlusion in the middle frame
    second = Flow(np.tile(np.float32([2.0, -1.0]), (h, w, 1)), untrusted)
    chained = compose(first, second)
    trusted = chained.confidence.astype(bool)
    # a pixel lands in the middle frame at (x + 1.5, y + 0.5), between four pixels: all trusted
    ys, xs = np.mgrid[0:h, 0:w] + np.float32(0)
    landing_x, landing_y = xs + 1.5, ys + 0.5
    x0, y0 = np.floor(landing_x), np.floor(landing_y)
    near_hole = (x0 + 1 >= 10) & (x0 <= 13) & (y0 + 1 >= 8) & (y0 <= 11)
    outside = (landing_x > w - 1) | (landing_y > h - 1)
    assert not trusted[near_hole | outside].any()
    assert trusted[~(near_hole | outside)].all()
    assert np.allclose(chained.vectors[~outside], [3.5, -0.5])
