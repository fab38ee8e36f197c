"""The host itself, driven with its fixture plugin (fixture/gain_plugin.cpp): a gain filter whose
output numpy can predict exactly. If these fail, the plugin tests that use the host mean nothing.

The fixture computes ``src * gain + bias / 255`` (normalised; integers rounded half up and clamped,
floats in float32), keeps the source where a connected Mask is below 0.5, and is the identity at
gain 1, bias 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import driver

pytestmark = pytest.mark.plugin

H, W = 24, 40
FIXTURE = "tests/ofxhost/OfxhostFixture.ofx.bundle"
DTYPES = (np.uint8, np.uint16, np.float16, np.float32)
CHANNELS = (4, 3, 1)


@pytest.fixture(scope="session")
def host() -> driver.Built:
    try:
        return driver.locate(FIXTURE)
    except FileNotFoundError as e:
        pytest.fail(str(e))


def image(dtype: type, channels: int, seed: int = 0, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    """Random pixels; floats are multiples of 1/256 so averages and gains stay exact."""
    rng = np.random.default_rng(seed)
    size = (*shape, channels)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max, size=size, endpoint=True).astype(dtype)
    return (rng.integers(0, 256, size=size) / 256.0).astype(dtype)


def gain(src: np.ndarray, g: float, bias: int = 0) -> np.ndarray:
    """What the fixture renders, in numpy."""
    if np.issubdtype(src.dtype, np.integer):
        top = float(np.iinfo(src.dtype).max)
        out = np.floor(np.clip(src / top * g + bias / 255.0, 0.0, 1.0) * top + 0.5)
        return out.astype(src.dtype)
    return (src.astype(np.float32) * np.float32(g) + np.float32(bias / 255.0)).astype(src.dtype)


def ok(result: driver.Result) -> driver.Result:
    assert result.returncode == driver.EXIT_OK, result.describe()
    return result


def test_describe_dumps_clips_params_and_props(host: driver.Built, tmp_path: Path) -> None:
    d = driver.describe(host, tmp_path)
    assert d["plugin"]["identifier"] == "org.neuralstyle.ofxhost.Fixture"
    assert set(d["contexts"]) == {"filter", "general"}
    assert set(d["contexts"]["filter"]["clips"]) == {"Source", "Output"}
    mask = d["contexts"]["general"]["clips"]["Mask"]
    assert (
        mask["optional"]
        and mask["is_mask"]
        and mask["supported_components"] == ["OfxImageComponentAlpha"]
    )
    params = d["contexts"]["general"]["params"]
    assert params["gain"]["kind"] == "double"
    assert (params["gain"]["default"], params["gain"]["min"], params["gain"]["max"]) == (
        1.0,
        0.0,
        4.0,
    )
    assert params["gain"]["animates"] is True
    assert params["mode"]["options"] == ["normal", "fail", "leak", "set_in_render"]
    assert params["mode"]["animates"] is False
    assert params["note"]["default"] == "none"
    assert d["props"]["OfxImageEffectPropSupportsTiles"] == [0]
    assert [a["action"] for a in d["actions"]][:2] == ["OfxActionLoad", "OfxActionDescribe"]


def test_action_order(host: driver.Built, tmp_path: Path) -> None:
    frames = {t: image(np.float32, 4, t) for t in (1, 2)}
    r = ok(driver.run(host, tmp_path, frames, params={"gain": 0.5}))
    assert [a["action"] for a in r.log["actions"]] == [
        "OfxActionLoad",
        "OfxActionDescribe",
        "OfxImageEffectActionDescribeInContext",
        "OfxActionUnload",
    ]
    per_frame = [
        "OfxImageEffectActionGetRegionOfDefinition",
        "OfxImageEffectActionGetRegionsOfInterest",
        "OfxImageEffectActionIsIdentity",
        "OfxImageEffectActionRender",
    ]
    assert [a["action"] for a in r.instance()["actions"]] == [
        "OfxActionCreateInstance",
        "OfxImageEffectActionGetClipPreferences",
        "OfxImageEffectActionBeginSequenceRender",
        *per_frame,
        *per_frame,
        "OfxImageEffectActionEndSequenceRender",
        "OfxActionDestroyInstance",
    ]
    assert r.log["context"] == "OfxImageEffectContextFilter"
    assert r.log["python"]["mode"] == "none"


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_depth_and_component_count(
    host: driver.Built, tmp_path: Path, dtype: type, channels: int
) -> None:
    src = image(dtype, channels)
    r = ok(driver.run(host, tmp_path, {1: src}, params={"gain": 0.75, "bias": 3}))
    out = r.output(1)
    assert out.dtype == src.dtype and out.shape == src.shape
    np.testing.assert_array_equal(out, gain(src, 0.75, 3))
    frame = r.frame(1)
    assert frame["images"][0]["row_bytes"] == W * channels * src.itemsize
    assert frame["poison_pixels"] == 0


@pytest.mark.parametrize(
    ("layout", "check"),
    [
        ({"row_bytes": "negative"}, lambda img: img["row_bytes"] < 0),
        ({"row_padding": 64}, lambda img: img["row_bytes"] == W * 16 + 64),
        (
            {"row_bytes": "negative", "row_padding": 48},
            lambda img: img["row_bytes"] == -(W * 16 + 48),
        ),
        ({"offset": (-7, 13)}, lambda img: img["bounds"] == [-7, 13, W - 7, H + 13]),
    ],
    ids=["negative", "padding", "negative+padding", "offset"],
)
def test_layouts_give_the_plain_result(
    host: driver.Built, tmp_path: Path, layout: dict, check
) -> None:
    src = image(np.float32, 4)
    r = ok(driver.run(host, tmp_path, {1: src}, params={"gain": 0.5}, **layout))
    np.testing.assert_array_equal(r.output(1), gain(src, 0.5))
    for clip in ("Source", "Output"):
        assert check(r.image(1, clip)), r.image(1, clip)


def test_keyframes_interpolate_doubles_linearly_and_step_the_rest(
    host: driver.Built, tmp_path: Path
) -> None:
    frames = {t: image(np.float32, 3, t) for t in range(1, 6)}
    r = ok(
        driver.run(
            host,
            tmp_path,
            frames,
            keys={
                "gain": [(1, 0.5), (5, 2.5)],
                "bias": [(1, 0), (3, 8)],
                "note": [(2, "a"), (4, "b")],
            },
        )
    )
    expected_gain = {1: 0.5, 2: 1.0, 3: 1.5, 4: 2.0, 5: 2.5}
    expected_bias = {1: 0, 2: 0, 3: 8, 4: 8, 5: 8}
    for t, src in frames.items():
        np.testing.assert_array_equal(
            r.output(t), gain(src, expected_gain[t], expected_bias[t]), err_msg=f"t={t}"
        )
    notes = {t: r.frame(t)["messages"][0]["text"].split("note=")[1] for t in (1, 3, 4, 5)}
    assert notes == {1: "a", 3: "a", 4: "b", 5: "b"}  # constant before the first key


def test_identity_is_copied_by_the_host_without_render(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.float16, 4)
    r = ok(driver.run(host, tmp_path, {1: src}, params={"gain": 1.0}, row_bytes="negative"))
    frame = r.frame(1)
    assert frame["identity"] and frame["identity_clip"] == "Source"
    assert "render_status" not in frame
    assert "OfxImageEffectActionRender" not in [a["action"] for a in r.instance()["actions"]]
    np.testing.assert_array_equal(r.output(1).view(np.uint16), src.view(np.uint16))


def test_failed_frame_is_recorded_and_the_next_renders(host: driver.Built, tmp_path: Path) -> None:
    frames = {t: image(np.uint8, 4, t) for t in (1, 2)}
    r = driver.run(
        host, tmp_path, frames, params={"gain": 2.0}, keys={"mode": [(1, "fail"), (2, "normal")]}
    )
    assert r.returncode == driver.EXIT_FAILED, r.describe()
    first, second = r.frame(1), r.frame(2)
    assert not first["ok"] and first["render_status"] == 1
    assert (
        first["persistent"]["type"] == "OfxMessageError"
        and "mode=fail" in first["persistent"]["text"]
    )
    assert not r.frame_path("frame", 1).exists()
    assert second["ok"] and second["persistent"] is None
    np.testing.assert_array_equal(r.output(2), gain(frames[2], 2.0))
    assert "mode=fail" in r.stderr


def test_unreleased_images_fail_the_frame(host: driver.Built, tmp_path: Path) -> None:
    r = driver.run(host, tmp_path, {1: image(np.float32, 4)}, params={"gain": 2.0, "mode": "leak"})
    assert r.returncode == driver.EXIT_FAILED
    frame = r.frame(1)
    assert not frame["ok"] and frame["leaked_images"] == 1 and "did not release" in frame["error"]
    assert frame["clip_get_image"] == 2 and frame["clip_release_image"] == 1


def test_setting_a_param_while_rendering_is_refused(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.float32, 4)
    r = ok(driver.run(host, tmp_path, {1: src}, params={"gain": 0.5, "mode": "set_in_render"}))
    np.testing.assert_array_equal(r.output(1), gain(src, 0.5))
    assert any("during OfxImageEffectActionRender" in w for w in r.log["warnings"])


def test_user_edit_sends_instance_changed_and_plugin_edits_follow(
    host: driver.Built, tmp_path: Path
) -> None:
    frames = {t: image(np.float32, 4, t) for t in (1, 2, 3)}
    r = ok(
        driver.run(
            host, tmp_path, frames, params={"gain": 0.5}, edits=[(2, "gain", 2.0), (3, "mode", 0)]
        )
    )
    np.testing.assert_array_equal(r.output(1), gain(frames[1], 0.5))
    np.testing.assert_array_equal(r.output(2), gain(frames[2], 2.0))
    texts = [m["text"] for m in r.messages()]
    assert "instanceChanged gain OfxChangeUserEdited 2" in texts
    assert "instanceChanged mode OfxChangeUserEdited 3" in texts
    # The plugin sets note in response, and the host tells it so.
    assert "instanceChanged note OfxChangePluginEdited 3" in texts
    assert r.frame(3)["messages"][-1]["text"].endswith("note=mode=normal")
    actions = [a["action"] for a in r.instance()["actions"]]
    i = actions.index("OfxActionInstanceChanged")
    assert actions[i - 1 : i + 2] == [
        "OfxActionBeginInstanceChanged",
        "OfxActionInstanceChanged",
        "OfxActionEndInstanceChanged",
    ]


def test_concurrent_instances_render_the_same_frames(host: driver.Built, tmp_path: Path) -> None:
    frames = {t: image(np.uint16, 4, t) for t in (1, 2, 3)}
    r = ok(driver.run(host, tmp_path, frames, params={"gain": 0.25}, instances=3))
    for k in range(3):
        for t, src in frames.items():
            np.testing.assert_array_equal(r.output(t, k), gain(src, 0.25))
    pointers = {r.image(1, "Source", k)["data"] for k in range(3)}
    assert len(pointers) == 3  # each instance has its own buffers


@pytest.mark.parametrize("scale", [0.5, 0.25])
def test_render_scale_downsamples_the_source(
    host: driver.Built, tmp_path: Path, scale: float
) -> None:
    src = image(np.float32, 4)
    r = ok(
        driver.run(
            host, tmp_path, {1: src}, params={"gain": 0.5}, render_scale=scale, dump_inputs=True
        )
    )
    f = int(1 / scale)
    expected = (
        src.astype(np.float64).reshape(H // f, f, W // f, f, 4).mean(axis=(1, 3)).astype(np.float32)
    )
    np.testing.assert_array_equal(r.dumped_source(1), expected)
    np.testing.assert_array_equal(r.output(1), gain(expected, 0.5))
    assert r.frame(1)["render_window"] == [0, 0, W // f, H // f]
    assert r.image(1, "Source")["bounds"] == [0, 0, W // f, H // f]


def test_render_scale_with_offset_uses_scaled_bounds(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.uint8, 3)
    r = ok(
        driver.run(host, tmp_path, {1: src}, params={"gain": 0.5}, render_scale=0.5, offset=(10, 6))
    )
    assert r.image(1, "Source")["bounds"] == [5, 3, 5 + W // 2, 3 + H // 2]
    assert r.output(1).shape == (H // 2, W // 2, 3)


def area_resample(src: np.ndarray, height: int, width: int) -> np.ndarray:
    """What ``--proxy-size`` does, in numpy: each pixel the mean of the area it covers."""

    def weights(n_in: int, n_out: int) -> np.ndarray:
        step = n_in / n_out
        edges = np.arange(n_out + 1) * step
        lo, hi = edges[:-1, None], edges[1:, None]
        pixels = np.arange(n_in)[None, :]
        return np.clip(np.minimum(hi, pixels + 1) - np.maximum(lo, pixels), 0, None) / step

    wy, wx = weights(src.shape[0], height), weights(src.shape[1], width)
    return np.einsum("yi,ijc,xj->yxc", wy, src.astype(np.float64), wx).astype(src.dtype)


# MLT's preview of a 41x23 profile at scale 0.5: each side scaled and rounded on its own.
ODD, PROXY = (23, 41), (20, 11)


def test_proxy_size_resamples_with_a_scale_per_axis(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.float32, 4, shape=ODD)
    r = ok(
        driver.run(
            host, tmp_path, {1: src}, params={"gain": 0.5}, proxy_size=PROXY, dump_inputs=True
        )
    )
    width, height = PROXY
    np.testing.assert_allclose(r.dumped_source(1), area_resample(src, height, width), atol=1e-6)
    np.testing.assert_array_equal(r.output(1), gain(r.dumped_source(1), 0.5))
    source = r.image(1, "Source")
    assert source["bounds"] == [0, 0, width, height]
    assert source["render_scale"] == [width / ODD[1], height / ODD[0]]
    assert r.frame(1)["rod"] == [0, 0, ODD[1], ODD[0]]  # canonical: the full frame
    assert r.frame(1)["render_window"] == [0, 0, width, height]


def test_rod_in_proxy_pixels_like_mlt(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.uint8, 4, shape=ODD)
    r = ok(
        driver.run(host, tmp_path, {1: src}, params={"gain": 0.5}, proxy_size=PROXY, rod="proxy")
    )
    width, height = PROXY
    assert r.frame(1)["rod"] == [0, 0, width, height]  # the region in the proxy's own pixels
    assert r.frame(1)["render_window"] == [0, 0, width, height]
    assert r.output(1).shape == (height, width, 4)
    assert r.log["options"]["rod"] == "proxy"


def test_mask_is_converted_to_the_clip_preference(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.uint8, 4)
    mask = np.zeros((H, W, 4), np.float32)
    # An RGBA float mask; the fixture's Mask takes Alpha, at the source's depth.
    mask[:, W // 2 :, 3] = 1.0
    r = ok(driver.run(host, tmp_path, {1: src}, params={"gain": 0.5}, mask={1: mask}))
    assert r.log["context"] == "OfxImageEffectContextGeneral"
    m = r.image(1, "Mask")
    assert (m["components"], m["depth"]) == ("OfxImageComponentAlpha", "OfxBitDepthByte")
    expected = src.copy()
    expected[:, W // 2 :] = gain(src, 0.5)[:, W // 2 :]
    np.testing.assert_array_equal(r.output(1), expected)


def test_python_none_keeps_the_host_python_free(host: driver.Built, tmp_path: Path) -> None:
    r = ok(
        driver.run(host, tmp_path, {1: image(np.float32, 4)}, params={"gain": 0.5}, python="none")
    )
    assert r.log["libpython_loaded"] == ""


def test_python_own_starts_an_interpreter_before_the_plugin(
    host: driver.Built, tmp_path: Path
) -> None:
    r = ok(
        driver.run(host, tmp_path, {1: image(np.float32, 4)}, params={"gain": 0.5}, python="own")
    )
    py = r.log["python"]
    assert py["mode"] == "own" and py["interpreter"]["version"].startswith("3.")
    assert "libpython" in r.log["libpython_loaded"]
    assert "sys" in py["modules"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"params": {"nope": 1}}, "no parameter 'nope'"),
        ({"params": {"mode": "sideways"}}, "neither an option label nor an index"),
        ({"params": {"gain": "loud"}}, "not a number"),
        ({"context": "filter", "mask": {1: np.ones((H, W), np.float32)}}, "no Mask clip"),
        ({"proxy_size": (20, 12), "offset": (2, 2)}, "--proxy-size goes with neither"),
        ({"extra": ["--proxy-size", "20by12"]}, "--proxy-size needs WIDTHxHEIGHT"),
        ({"rod": "pixels"}, "--rod must be canonical or proxy"),
        ({"rod": "proxy", "render_scale": 0.5}, "--rod proxy goes with --proxy-size"),
    ],
)
def test_usage_errors_exit_2(host: driver.Built, tmp_path: Path, extra: dict, words: str) -> None:
    r = driver.run(host, tmp_path, {1: image(np.float32, 4)}, **extra)
    assert r.returncode == driver.EXIT_USAGE, r.describe()
    assert words in r.stderr


def test_cuda_without_support_or_device(host: driver.Built, tmp_path: Path) -> None:
    src = image(np.float32, 4)
    r = driver.run(host, tmp_path, {1: src}, params={"gain": 0.5}, cuda=True)
    if r.returncode == driver.EXIT_NO_CUDA:
        assert "--cuda unavailable" in r.stderr
        return
    # A CUDA machine: the fixture declares no CUDA render, so the host falls back to CPU buffers.
    assert r.returncode == driver.EXIT_OK, r.describe()
    assert r.log["plugin_capabilities"]["cuda_enabled"] is False
    np.testing.assert_array_equal(r.output(1), gain(src, 0.5))


def test_one_instance_per_input(host: driver.Built, tmp_path: Path) -> None:
    clips = [
        {1: image(d, c, i)}
        for i, (d, c) in enumerate([(np.uint8, 4), (np.float16, 1), (np.uint16, 3)])
    ]
    r = ok(driver.run(host, tmp_path, clips, params={"gain": 0.5}))
    assert len(r.log["instances"]) == 3
    for k, clip in enumerate(clips):
        np.testing.assert_array_equal(r.output(1, k), gain(clip[1], 0.5))
