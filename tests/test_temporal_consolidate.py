"""Consolidation: the mean of redrawn strokes gets its contrast back, a moving object leaves no
ghost, and a picture the neighbours agree on is left as it is."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from neuralstyle.temporal.consolidate import (
    MAX_GAIN,
    Neighbour,
    consolidate,
    display_for_flow,
    keep_detail,
)


def _detail_energy(x: np.ndarray) -> float:
    from neuralstyle.temporal.consolidate import _blur

    return float(np.square(x - _blur(x)).mean())


def test_agreeing_neighbours_change_nothing() -> None:
    own = np.random.default_rng(0).random((40, 56, 3), np.float32)
    np.testing.assert_allclose(keep_detail(own, own), own, atol=1e-6, rtol=0)


def test_the_mean_of_five_redrawn_patterns_gets_its_detail_energy_back() -> None:
    rng = np.random.default_rng(1)
    base = np.broadcast_to(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], (48, 64, 3))
    strokes = [base + 0.2 * rng.random((48, 64, 3), np.float32) for _ in range(5)]
    mean = np.mean(strokes, axis=0, dtype=np.float32)
    own = strokes[2]
    kept = keep_detail(mean, own)
    assert _detail_energy(mean) < 0.3 * _detail_energy(own)  # the mean alone is soft
    assert abs(_detail_energy(kept) / _detail_energy(own) - 1) < 0.15
    # the low frequencies are the mean's: the picture underneath does not move
    assert abs(float((kept - mean).mean())) < 1e-3
    assert float(np.abs(kept - mean).max()) <= MAX_GAIN * float(np.abs(mean - base).max()) + 0.1


def test_tiny_frames() -> None:
    for h, w in ((1, 1), (2, 30), (7, 3)):
        own = np.random.default_rng(h).random((h, w, 3), np.float32)
        assert keep_detail(own * 0.5, own).shape == (h, w, 3)


def test_a_moving_sprite_leaves_no_ghost_in_the_background() -> None:
    """A red disc crossing a photograph 6 px a frame: where the disc is in the neighbours but not
    in the frame itself, the steadied frame is the background (occlusion handling)."""
    from scipy import ndimage
    from skimage import data, transform

    from neuralstyle.temporal.flow import flows_both_ways

    h, w = 72, 112
    background = (transform.resize(data.coffee(), (h, w), anti_aliasing=True) * 255).astype(
        np.uint8
    )
    yy, xx = np.mgrid[0:h, 0:w]

    def disc(t: int) -> np.ndarray:
        return (xx - (20 + 6 * t)) ** 2 + (yy - h / 2) ** 2 < 12**2

    frames = []
    for t in range(5):
        frame = background.copy()
        frame[disc(t)] = (230, 40, 30)
        frames.append(frame)
    t = 2
    neighbours = [Neighbour(o - t, frames[o], flows_both_ways(frames[t], frames[o])[0])
                  for o in range(5) if o != t]  # fmt: skip
    out = consolidate(frames[t], neighbours, radius=2, amount=1.0)
    elsewhere = np.any([disc(o) for o in range(5) if o != t], axis=0)
    uncovered = elsewhere & ~ndimage.binary_dilation(disc(t), iterations=3)
    difference = np.abs(out.astype(int) - frames[t].astype(int))[uncovered]
    assert difference.mean() < 2.0, difference.mean()  # a ghost of the disc would be ~100
    assert np.percentile(difference, 99) < 20


def test_the_flow_sees_large_frames_shrunk_in_linear_light() -> None:
    """A 1080p frame's flow runs at 540p: its display is the 2x2 mean of the linear pixels,
    then encoded; integer pixels are scaled to 8 bits; frames up to 1024 px keep their size."""
    from neuralstyle.pixel_encoding import srgb_encode
    from neuralstyle.temporal.consolidate import display_for_flow

    rng = np.random.default_rng(3)
    linear = rng.random((1080, 1920, 4), np.float32)
    shown = display_for_flow(linear, linear=True)
    assert shown.shape == (540, 960, 3) and shown.dtype == np.uint8
    mean = linear[..., :3].reshape(540, 2, 960, 2, 3).mean(axis=(1, 3))
    want = srgb_encode(torch.from_numpy(mean)).numpy() * 255
    assert np.abs(shown - want).max() <= 0.51
    sixteen = (linear[:100, :120] * 65535).astype(np.uint16)
    shown16 = display_for_flow(sixteen, linear=False)
    assert shown16.shape == (100, 120, 3)
    assert np.abs(shown16 - sixteen[..., :3] / 257.0).max() <= 0.51


def test_large_frames_steady_through_the_shrunk_flow_to_the_same_bits_with_any_cache() -> None:
    """Frames over 1024 px take the flow of their shrunk pictures, brought back to their size
    (``Flow.resized``): frame t comes out the same, bit for bit, with a cold cache, a cache
    warmed by its neighbours' renders, or no cache; and steadier than its own stylisation."""
    from neuralstyle.temporal.frame_cache import FrameCache, content_key
    from neuralstyle.temporal.window import WindowFrame, steady

    h, w, shift = 600, 1100, 3
    rng = np.random.default_rng(5)
    scene = rng.random((h // 8, (w + 8 * shift) // 8, 3), np.float32)
    import cv2

    scene = cv2.resize(scene, (w + 8 * shift, h), interpolation=cv2.INTER_CUBIC)
    plates = [np.ascontiguousarray(scene[:, shift * t : shift * t + w]) for t in range(6)]
    # each frame's "stylisation": the plate plus strokes redrawn every frame (what boils)
    styled = [np.clip(p + 0.15 * rng.standard_normal(p.shape, np.float32), 0, 1) for p in plates]

    def window(t: int) -> list[WindowFrame]:
        frames = []
        for o in range(max(0, t - 2), min(6, t + 3)):
            key = content_key(plates[o])
            frames.append(
                WindowFrame(
                    offset=o - t,
                    plate=key,
                    key=key,
                    display=lambda o=o: display_for_flow(plates[o], linear=True),
                    stylise=lambda o=o: styled[o],
                )
            )
        return frames

    assert display_for_flow(plates[0], linear=True).shape == (300, 550, 3)
    cold = steady(window(3), radius=2, amount=1.0, cache=FrameCache(0))
    shared = FrameCache(2**31)
    outs = [steady(window(t), radius=2, amount=1.0, cache=shared) for t in range(6)]
    assert np.array_equal(outs[3], cold)  # the cache warmed by the neighbours changes nothing
    assert np.array_equal(steady(window(3), radius=2, amount=1.0, cache=shared), cold)

    def flicker(frames: list[np.ndarray]) -> float:
        """Frame t+1 against frame t moved by the known motion (3 px left), inside."""
        pairs = itertools.pairwise(frames[1:5])  # frames whose windows are whole
        return float(np.mean([np.abs(b[40:-40, 40:-43] - a[40:-40, 43:-40]).mean()
                              for a, b in pairs]))  # fmt: skip

    # 0.47x measured: pixel-sized noise, whose mean's detail keep_detail scales back up
    assert flicker(outs) < 0.6 * flicker(styled)


def test_a_frames_key_sees_every_value_of_both_halves() -> None:
    from neuralstyle.temporal.frame_cache import content_key

    frame = np.random.default_rng(5).random((600, 1100, 4), dtype=np.float32)  # hashed in halves
    key = content_key(frame, settings={"style": "mosaic"})
    assert content_key(frame.copy(), settings={"style": "mosaic"}) == key
    for y, x in ((0, 0), (299, 1099), (300, 0), (599, 1099)):
        changed = frame.copy()
        changed[y, x, 3] = np.nextafter(changed[y, x, 3], np.float32(2))
        assert content_key(changed, settings={"style": "mosaic"}) != key
    assert content_key(frame, settings={"style": "udnie"}) != key
    assert content_key(frame[:, :, :3]) != content_key(np.ascontiguousarray(frame[:, :, :3])[::-1])


def test_rows_that_run_upwards_consolidate_as_the_same_rows_upright() -> None:
    from neuralstyle.temporal.flow import Flow

    rng = np.random.default_rng(6)
    own, other = (rng.random((40, 60, 4), dtype=np.float32) for _ in range(2))
    flow = Flow(np.full((40, 60, 2), 0.5, np.float32), np.ones((40, 60), np.float32))
    upright = consolidate(own, [Neighbour(1, other, flow)], radius=2, amount=1.0)
    # a host's buffer seen bottom-up (negative row stride); the flow, ours, is upright memory
    flipped = Flow(
        np.ascontiguousarray(flow.vectors[::-1] * np.float32([1, -1])),
        np.ascontiguousarray(flow.confidence[::-1]),
    )
    upwards = consolidate(own[::-1], [Neighbour(1, other[::-1], flipped)], radius=2, amount=1.0)
    np.testing.assert_allclose(upwards[::-1], upright, atol=1e-5)
