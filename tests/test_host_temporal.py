"""Temporal stability through the plugin-engine contract (``host.render(..., temporal=...)``):
the node's frame equals the farm's ``--temporal`` frame bit for bit, the stylised-frame cache
never changes a pixel, and bad windows are clear errors.

The plate pans a real photograph by a known (+1.5, +0.5) px per frame (tests/test_farm_temporal.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from farm_support import panned_photo, read_pixels, render, write_exr
from neuralstyle import host
from neuralstyle.errors import InputError
from neuralstyle.temporal import frame_cache

FRAMES = range(1, 7)
H, W = 64, 88
PARAMS = {"style": "mosaic", "device": "cpu"}


def _pan(frame: int) -> np.ndarray:
    return panned_photo(frame, H, W, "astronaut")


def _image(upright: np.ndarray, **extra: object) -> dict:
    """Host memory the way MLT lays it out: bottom-up, negative row strides."""
    return {
        "pixels": upright[::-1],
        "bounds": (0, 0, upright.shape[1], upright.shape[0]),
        "components": "RGB",
        "premultiplication": "opaque",
        **extra,
    }


def _node(frame: int, radius: int, *, plates=None, amount: float = 1.0, params=None) -> np.ndarray:
    """What the node renders at ``frame`` with Temporal stability over ``radius`` frames."""
    plates = plates or {f: _pan(f) for f in FRAMES}
    params = params or {}
    out = np.zeros((H, W, 3), np.float32)
    window = [f for f in range(frame - radius, frame + radius + 1) if f in plates and f != frame]
    temporal = {
        "radius": radius,
        "amount": amount,
        "frames": [
            {"time": float(f), "src": _image(plates[f]), "mask": None,
             "params": {**PARAMS, **params.get(f, {})}}
            for f in window
        ],
    }  # fmt: skip
    host.render(
        1,
        _image(plates[frame]),
        _image(out, window=(0, 0, W, H)),
        {**PARAMS, **params.get(frame, {})},
        float(frame),
        (1.0, 1.0),
        temporal=temporal,
    )
    return out


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The farm's render of the shot with ``--temporal 2``."""
    folder = tmp_path_factory.mktemp("pan")
    for f in FRAMES:
        write_exr(folder / f"pan.{f:04d}.exr", _pan(f), half=False)
    done = render([str(folder / "pan.####.exr"), "--frames", "1-6", "--style", "mosaic",
                   "--device", "cpu", "--temporal", "2", "--depth", "float",
                   "-o", str(folder / "out/s.####.exr")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / "out"


@pytest.mark.parametrize("frame", [1, 4, 6])  # the window cut at both ends, and whole
def test_the_node_frame_is_the_farm_frame(farm: Path, frame: int) -> None:
    frame_cache.clear()
    expected = read_pixels(farm / f"s.{frame:04d}.exr")
    assert np.array_equal(_node(frame, 2), expected)


def test_the_cache_never_changes_a_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    frame_cache.clear()
    cold = _node(3, 2)
    cache = frame_cache.frame_cache()
    misses = cache.misses
    assert np.array_equal(_node(3, 2), cold)  # warm: nothing made again
    assert cache.misses == misses
    # Frame 4's window shares four frames with 3's: one new stylisation and its flows.
    _node(4, 2)
    assert cache.count("styled") == 6

    # A changed neighbour (a new plate upstream, a new key on strength) is a miss, not a stale
    # frame: the result equals a cold render of the changed window.
    plates = {f: _pan(f) for f in FRAMES}
    plates[2] = plates[2] / 2
    keyed = {4: {"strength": 0.5}}
    warm = _node(3, 2, plates=plates, params=keyed)
    frame_cache.clear()
    assert np.array_equal(_node(3, 2, plates=plates, params=keyed), warm)
    assert not np.array_equal(warm, cold)

    monkeypatch.setenv("NEURALSTYLE_FRAME_CACHE_MB", "0")  # no cache: the same bits
    frame_cache.clear()
    assert np.array_equal(_node(3, 2), cold)
    assert frame_cache.frame_cache().nbytes == 0


def test_amount_zero_and_strength_zero_are_the_plain_renders() -> None:
    plain = np.zeros((H, W, 3), np.float32)
    host.render(1, _image(_pan(3)), _image(plain, window=(0, 0, W, H)), PARAMS, 3.0, (1.0, 1.0))
    assert np.array_equal(_node(3, 2, amount=0.0), plain)
    assert not np.array_equal(_node(3, 2), plain)
    # strength 0 at this frame: the source, bit-exact, whatever the neighbours are
    assert np.array_equal(_node(3, 2, params={3: {"strength": 0.0}}), _pan(3))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"radius": 0}, "radius"),
        ({"amount": 1.5}, "amount"),
        ({"frames": [{"time": 3.5}]}, "whole number of frames"),
        ({"frames": [{"time": 9.0}]}, "whole number of frames"),
        ({"frames": [{"src": "small"}]}, "frames alike"),
        ({"frames": [{"params": {"strength": 2.0}}]}, "strength"),
        ({"extra": 1}, "exactly the keys"),
    ],
)
def test_bad_windows_are_input_errors(change: dict, words: str) -> None:
    entry = {"time": 2.0, "src": _image(_pan(2)), "mask": None, "params": PARAMS}
    for key, value in change.get("frames", [{}])[0].items():
        entry[key] = _image(_pan(2)[:-2]) if value == "small" else value
    temporal = {"radius": 1, "amount": 1.0, "frames": [entry]}
    temporal.update({k: v for k, v in change.items() if k != "frames"})
    out = np.full((H, W, 3), np.nan, np.float32)
    with pytest.raises(InputError, match=words):
        host.render(1, _image(_pan(3)), _image(out, window=(0, 0, W, H)), PARAMS, 3.0, (1.0, 1.0),
                    temporal=temporal)  # fmt: skip
    assert np.isnan(out).all()  # nothing written


def test_warm_starts_chain_within_segments_and_key_the_chain() -> None:
    """window.steady: a frame that does not start its segment is stylised from the frame before
    it moved onto it; the chain's keys name every frame back to the segment start."""
    from neuralstyle.temporal.frame_cache import FrameCache
    from neuralstyle.temporal.window import WindowFrame, steady

    pictures = {f: (_pan(f) * 255).astype(np.uint8) for f in range(3, 8)}
    starts: dict[int, np.ndarray | None] = {}

    def frame(number: int, offset: int, salt: str = "") -> WindowFrame:
        picture = pictures[number]

        def warm(start: np.ndarray) -> np.ndarray:
            starts[number] = start
            return start // 2 + picture // 2

        def alone() -> np.ndarray:
            starts[number] = None
            return picture

        return WindowFrame(offset, bytes([number]), f"{number}{salt}".encode(),
                           lambda: picture, alone, warm=warm, source=picture,
                           chain_start=number % 4 == 0)  # fmt: skip

    cache = FrameCache(1 << 30)
    window = [frame(n, n - 6) for n in range(4, 8)]  # frame 6, K = 1, its segment from 4
    steady(window, radius=1, amount=1.0, cache=cache)
    assert starts[4] is None  # the segment's start: its own stylisation
    for n in (5, 6, 7):
        assert starts[n] is not None and starts[n].shape == pictures[n].shape
    assert cache.count("warm") == 3 and cache.count("styled") == 1

    # Another key for frame 4 (a new plate, a new setting) is a new chain for 5, 6 and 7.
    window = [frame(4, -2, salt="b"), *window[1:]]
    steady(window, radius=1, amount=1.0, cache=cache)
    assert cache.count("warm") == 6


def test_what_the_frame_leaves_alone_its_neighbours_do_not_paint() -> None:
    """A mask that keeps the left half and a mask that moves: where this frame's mask is 0 the
    steadied frame is its source, bit-exact, whatever its neighbours' masks let them paint."""
    plates = {f: _pan(f) for f in range(1, 6)}

    def mask(f: int) -> np.ndarray:
        m = np.zeros((H, W, 1), np.float32)
        m[:, W // 2 - 8 + 4 * (f - 3) :] = 1.0  # the edge moves 4 px a frame
        return m

    def image(f: int) -> dict:
        return _image(plates[f])

    temporal = {
        "radius": 2,
        "amount": 1.0,
        "frames": [
            {"time": float(f), "src": image(f), "params": PARAMS,
             "mask": {**_image(mask(f)), "components": "Alpha"}}
            for f in (1, 2, 4, 5)
        ],
    }  # fmt: skip
    out = np.zeros((H, W, 3), np.float32)
    host.render(1, image(3), _image(out, window=(0, 0, W, H)), PARAMS, 3.0, (1.0, 1.0),
                mask={**_image(mask(3)), "components": "Alpha"}, temporal=temporal)  # fmt: skip
    left = W // 2 - 8
    assert np.array_equal(out[:, :left], plates[3][:, :left])  # kept, though 4 and 5 paint it
    assert not np.array_equal(out[:, left:], plates[3][:, left:])
