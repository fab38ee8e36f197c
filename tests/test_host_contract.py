"""neuralstyle.host against docs/contract.md, driven like the plugin drives it: numpy views over
"host memory" laid out the OFX way (bottom-up rows, negative or padded row bytes, offset bounds)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

import neuralstyle
from neuralstyle import host
from neuralstyle.errors import InputError
from neuralstyle.testing.trace import ENV_TRACE

COMPONENTS = {4: "RGBA", 3: "RGB", 1: "Alpha"}


class HostImage:
    """An image in a raw byte buffer the way an OFX host lays it out: ``view`` is bottom-up,
    its data pointer at the lower-left pixel; rows may be padded and row bytes negative (MLT)."""

    def __init__(
        self, upright: np.ndarray, *, negative: bool = True, pad: int = 3, lead: int = 40
    ) -> None:
        h, w, c = upright.shape
        item = upright.dtype.itemsize
        self.row_bytes = (w + pad) * c * item
        self.raw = np.full(lead + self.row_bytes * h + lead, 0xAB, np.uint8)
        # negative: memory holds the top row first; the bottom row (row 0) comes last
        offset = lead + (self.row_bytes * (h - 1) if negative else 0)
        strides = (-self.row_bytes if negative else self.row_bytes, c * item, item)
        self.view = np.ndarray((h, w, c), upright.dtype, self.raw, offset, strides)
        self.view[...] = upright[::-1]
        # which bytes of raw belong to pixels (the rest is padding and slack)
        self.pixel_bytes = np.zeros(self.raw.shape, bool)
        np.ndarray((h, w, c, item), bool, self.pixel_bytes, offset, (*strides, 1))[...] = True

    @property
    def upright(self) -> np.ndarray:
        return self.view[::-1]

    def image(self, bounds: tuple[int, int, int, int], premultiplication: str = "premultiplied"):
        return {
            "pixels": self.view,
            "bounds": bounds,
            "components": COMPONENTS[self.view.shape[2]],
            "premultiplication": premultiplication,
        }


def _bounds(x: int, y: int, image: np.ndarray) -> tuple[int, int, int, int]:
    return (x, y, x + image.shape[1], y + image.shape[0])


def _poison(dtype: np.dtype) -> float:
    return 77 if dtype.kind == "u" else np.nan


@pytest.fixture(scope="module")
def rgba(textured: np.ndarray) -> np.ndarray:
    img = textured[:30, :44]
    alpha = np.linspace(0.0, 1.0, img.shape[1], dtype=np.float32)[None, :, None]
    alpha = alpha.repeat(img.shape[0], 0)
    return np.concatenate([img * alpha * 1.7, alpha], axis=2).astype(np.float32)


def _in(dtype: type, rgba: np.ndarray, channels: int = 4) -> np.ndarray:
    img = {4: rgba, 3: rgba[..., :3], 1: rgba[..., 3:]}[channels]
    if np.dtype(dtype).kind == "u":
        top = np.iinfo(dtype).max
        return np.rint(np.clip(img, 0, 1) * top).astype(dtype)
    return img.astype(dtype)


PARAMS = {"style": "7", "second_style": "", "style_blend": 0.0, "strength": 1.0, "device": "cpu"}


@pytest.mark.parametrize("negative", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, np.float32])
def test_render_equals_the_api_on_the_upright_image(
    rgba: np.ndarray, dtype: type, negative: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upright = _in(dtype, rgba)
    src = HostImage(upright, negative=negative)
    dst = HostImage(np.zeros_like(upright), negative=negative, pad=5)
    before_raw = dst.raw.copy()
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(ENV_TRACE, str(trace))

    bounds = _bounds(-12, 250, upright)  # offset bounds, negative x
    dst_image = dst.image(bounds) | {"window": bounds}
    host.render(3, src.image(bounds), dst_image, PARAMS, 12.0, (1.0, 1.0))

    expected = neuralstyle.stylize(upright, 7, device="cpu")
    assert dst.upright.tobytes() == expected.tobytes()  # read through the host's view
    assert np.array_equal(dst.raw[~dst.pixel_bytes], before_raw[~dst.pixel_bytes])  # padding
    (record,) = [json.loads(line) for line in trace.read_text().splitlines()]
    assert record["instance"] == 3 and record["time"] == 12.0
    assert record["src_ptr"] == src.view.__array_interface__["data"][0]
    assert record["dst_ptr"] == dst.view.__array_interface__["data"][0]
    assert record["src_strides"] == list(src.view.strides)
    assert record["dst_strides"][0] == (-dst.row_bytes if negative else dst.row_bytes)
    assert record["src_owns_data"] is False and record["dst_owns_data"] is False


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_window_subset_touches_only_the_window(rgba: np.ndarray, dtype: type) -> None:
    upright = _in(dtype, rgba)
    bounds = _bounds(100, -40, upright)
    poison = _poison(np.dtype(dtype))
    src = HostImage(upright)
    dst = HostImage(np.full_like(upright, poison))
    window = (110, -33, 131, -18)  # x1, y1, x2, y2 inside the bounds
    host.render(2, src.image(bounds), dst.image(bounds) | {"window": window}, PARAMS, 1.0, (1, 1))

    full = neuralstyle.stylize(upright, 7, device="cpu")
    x1, _, _, y2 = bounds
    rows = slice(y2 - window[3], y2 - window[1])  # upright rows of the window
    cols = slice(window[0] - x1, window[2] - x1)
    out = dst.upright
    assert out[rows, cols].tobytes() == full[rows, cols].tobytes()  # the net saw the whole frame
    untouched = np.ones(out.shape[:2], bool)
    untouched[rows, cols] = False
    if np.dtype(dtype).kind == "f":
        assert np.isnan(out[untouched]).all()
    else:
        assert (out[untouched] == poison).all()


def test_window_outside_the_source_becomes_zero(rgba: np.ndarray) -> None:
    upright = _in(np.float16, rgba)
    src = HostImage(upright)
    src_bounds = _bounds(20, 10, upright)
    # dst bounds larger than src on every side, and offset differently
    dst_upright = np.full((upright.shape[0] + 9, upright.shape[1] + 14, 4), np.nan, np.float16)
    dst = HostImage(dst_upright)
    dst_bounds = _bounds(13, 4, dst_upright)
    window = (15, 6, 60, 41)
    host.render(
        5, src.image(src_bounds), dst.image(dst_bounds) | {"window": window}, PARAMS, 0, (1, 1)
    )

    full = neuralstyle.stylize(upright, 7, device="cpu")
    out = dst.upright
    dx1, _, _, dy2 = dst_bounds
    for y in range(dst_bounds[1], dst_bounds[3]):
        for x in range(dst_bounds[0], dst_bounds[2]):
            pixel = out[dy2 - 1 - y, x - dx1]
            in_window = window[0] <= x < window[2] and window[1] <= y < window[3]
            in_src = src_bounds[0] <= x < src_bounds[2] and src_bounds[1] <= y < src_bounds[3]
            if not in_window:
                assert np.isnan(pixel).all()
            elif not in_src:
                assert pixel.tobytes() == bytes(pixel.nbytes)  # +0.0
            else:
                expected = full[src_bounds[3] - 1 - y, x - src_bounds[0]]
                assert pixel.tobytes() == expected.tobytes()


def test_mask_with_its_own_bounds(rgba: np.ndarray) -> None:
    upright = _in(np.float32, rgba)
    bounds = _bounds(0, 0, upright)
    src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
    # a uint8 mask covering the right half of the frame only (offset bounds), value 255 = 1
    h, w = upright.shape[:2]
    matte = HostImage(np.full((h, w // 2, 1), 255, np.uint8))
    mask_bounds = (w - w // 2, 0, w, h)
    host.render(
        4,
        src.image(bounds),
        dst.image(bounds) | {"window": bounds},
        PARAMS,
        1.0,
        (1, 1),
        mask=matte.image(mask_bounds, "opaque"),
    )
    weight = np.zeros((h, w), np.float32)
    weight[:, w - w // 2 :] = 1.0
    expected = neuralstyle.stylize(upright, 7, mask=weight, device="cpu")
    assert dst.upright.tobytes() == expected.tobytes()
    assert dst.upright[:, : w - w // 2].tobytes() == upright[:, : w - w // 2].tobytes()


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_strength_zero_and_alpha_only_copy_bit_exactly(rgba: np.ndarray, channels: int) -> None:
    upright = _in(np.float16, rgba, channels)
    upright[0, 0, 0] = -0.0
    bounds = _bounds(7, 7, upright)
    src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
    params = PARAMS | {"strength": 0.0 if channels != 1 else 1.0}
    host.render(6, src.image(bounds), dst.image(bounds) | {"window": bounds}, params, 1.0, (1, 1))
    assert dst.upright.tobytes() == upright.tobytes()
    assert host.is_identity(PARAMS | {"strength": 0.0})
    assert not host.is_identity(PARAMS)


def test_rgb_and_unpremultiplied_rgba(rgba: np.ndarray) -> None:
    for upright, premult, api_premult in (
        (_in(np.uint8, rgba, 3), "opaque", None),
        (_in(np.uint8, rgba, 4), "unpremultiplied", False),
    ):
        bounds = _bounds(0, 0, upright)
        src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
        host.render(
            8, src.image(bounds, premult), dst.image(bounds) | {"window": bounds}, PARAMS, 0, (1, 1)
        )
        expected = neuralstyle.stylize(upright, 7, premultiplied=api_premult, device="cpu")
        assert dst.upright.tobytes() == expected.tobytes()


def test_two_instances_render_concurrently(rgba: np.ndarray) -> None:
    upright = _in(np.float32, rgba)
    bounds = _bounds(0, 0, upright)
    expected = {style: neuralstyle.stylize(upright, style, device="cpu") for style in (3, 11)}
    errors: list[BaseException] = []
    results: dict[tuple[int, int], bytes] = {}

    def work(instance: int, style: int) -> None:
        try:
            for attempt in range(3):
                src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
                image = dst.image(bounds) | {"window": bounds}
                params = PARAMS | {"style": str(style)}
                host.render(instance, src.image(bounds), image, params, attempt, (1, 1))
                results[(instance, attempt)] = dst.upright.tobytes()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in ((20, 3), (21, 11))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (instance, _), data in results.items():
        assert data == expected[3 if instance == 20 else 11].tobytes()
    host.release(20)
    host.release(21)


def test_release_and_purge_keep_rendering_correct(rgba: np.ndarray) -> None:
    upright = _in(np.uint8, rgba)
    bounds = _bounds(0, 0, upright)

    def once() -> bytes:
        src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
        host.render(
            30, src.image(bounds), dst.image(bounds) | {"window": bounds}, PARAMS, 0, (1, 1)
        )
        return dst.upright.tobytes()

    first = once()
    host.release(30)
    host.release(999)  # unknown instances are fine
    host.purge_caches()
    assert once() == first


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"params": PARAMS | {"colour": "red"}}, "unknown parameter colour"),
        ({"params": PARAMS | {"strength": 1.2}}, "strength must be from 0 to 1"),
        ({"params": PARAMS | {"style_blend": -1}}, "style_blend must be from 0 to 1"),
        ({"params": PARAMS | {"style": "cubism-9"}}, "style: unknown style"),
        ({"params": PARAMS | {"style": 3}}, "style must be a style name"),
        ({"params": PARAMS | {"device": "gpu"}}, "device must be one of auto, cpu, cuda"),
        ({"src": {"components": "RGB"}}, "src['pixels'] has shape"),
        ({"src": {"components": "XYZ"}}, "src['components'] must be one of"),
        ({"src": {"premultiplication": "yes"}}, "src['premultiplication'] must be one of"),
        ({"src": {"bounds": (0, 0, 5)}}, "src['bounds'] must be four integers"),
        ({"src": {"pixels": [[0]]}}, "numpy array or expose __cuda_array_interface__"),
        ({"src": {"extra": 1}}, "src must have exactly the keys"),
        ({"dst": {"window": (-1, 0, 4, 4)}}, "must lie inside dst['bounds']"),
        ({"dst": {"pixels": "u16"}}, "dst must have the components and depth of src"),
        ({"time": float("nan")}, "time must be a finite number"),
        ({"render_scale": (0.0, 1.0)}, "render_scale must be two positive numbers"),
        ({"frame_size": (30, 44.0)}, "frame_size must be (height, width) in pixels"),
    ],
)
def test_bad_calls_raise_input_errors(rgba: np.ndarray, change: dict, words: str) -> None:
    upright = _in(np.uint8, rgba)
    bounds = _bounds(0, 0, upright)
    src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
    call = {
        "src": src.image(bounds),
        "dst": dst.image(bounds) | {"window": bounds},
        "params": PARAMS,
        "time": 1.0,
        "render_scale": (1.0, 1.0),
    }
    for key, value in change.items():
        if value == {"pixels": "u16"}:
            call[key] = call[key] | {"pixels": HostImage(upright.astype(np.uint16)).view}
        elif key in ("src", "dst"):
            call[key] = call[key] | value
        else:
            call[key] = value
    with pytest.raises(InputError) as info:
        host.render(40, **call)
    assert words in str(info.value)


def test_proxy_renders_the_frame_size_the_host_gives(rgba: np.ndarray) -> None:
    # a 15x22 proxy at render scale 0.5 is of a 30x44 frame or a 29x43 one
    proxy = np.ascontiguousarray(_in(np.float32, rgba)[::2, ::2])
    bounds = _bounds(0, 0, proxy)

    def render(frame_size: tuple[int, int] | None) -> np.ndarray:
        dst = HostImage(np.zeros_like(proxy))
        src = HostImage(proxy)
        host.render(
            41,
            src.image(bounds),
            dst.image(bounds) | {"window": bounds},
            PARAMS,
            1.0,
            (0.5, 0.5),
            frame_size=frame_size,
        )
        return dst.upright.copy()

    def api(frame_size: tuple[int, int] | None) -> np.ndarray:
        return neuralstyle.stylize(proxy, 7, render_scale=0.5, frame_size=frame_size, device="cpu")

    odd = render((29, 43))
    assert odd.tobytes() == api((29, 43)).tobytes()
    assert odd.tobytes() != api(None).tobytes()
    assert render(None).tobytes() == api(None).tobytes() == api((30, 44)).tobytes()
    # not a frame this source is the proxy of (a crop upstream): the source's own size rules
    assert render((60, 88)).tobytes() == api(None).tobytes()
    with pytest.raises(InputError, match="is not a frame of 88x60"):
        api((60, 88))


def test_nan_pixels_give_a_message_not_a_black_frame(rgba: np.ndarray) -> None:
    upright = _in(np.float32, rgba)
    upright[4, 4, 0] = np.nan
    bounds = _bounds(0, 0, upright)
    src, dst = HostImage(upright), HostImage(np.zeros_like(upright))
    with pytest.raises(InputError, match="NaN or infinite"):
        host.render(
            41, src.image(bounds), dst.image(bounds) | {"window": bounds}, PARAMS, 0, (1, 1)
        )


@pytest.mark.gpu
def test_cuda_buffers_match_the_api_on_cuda(rgba: np.ndarray, device: str) -> None:
    """OFX 1.5 CUDA render: buffers are device memory exposing __cuda_array_interface__."""
    if device != "cuda":
        pytest.skip("CUDA buffers need --device cuda")
    import torch

    upright = _in(np.float16, rgba)
    bounds = _bounds(3, 3, upright)
    src = torch.from_numpy(np.ascontiguousarray(upright[::-1])).cuda()  # bottom-up, packed
    dst = torch.zeros_like(src)
    image = {"bounds": bounds, "components": "RGBA", "premultiplication": "premultiplied"}
    params = PARAMS | {"device": "auto"}
    host.render(
        50, image | {"pixels": src}, image | {"pixels": dst, "window": bounds}, params, 0, (1, 1)
    )
    expected = neuralstyle.stylize(upright, 7, device="cuda")
    assert dst.cpu().numpy()[::-1].tobytes() == expected.tobytes()
