"""The built OpenFX bundle, driven through our headless host (tests/ofxhost), against the API.

Every render here goes host -> plugin -> embedded Python -> engine, in a separate process, and must
give the bits ``neuralstyle.stylize`` gives in this process (same machine, same numerics profile).
The host's log says what the plugin was handed (data pointers, row bytes, bounds); the engine's
NEURALSTYLE_TRACE says what it read and wrote, so the two prove no copy was made.

The host runs are started together when the module's first test asks for one, two at a time (each
starts Python and torch), and each test then waits for its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuralstyle.models.styles import all_styles
from neuralstyle.params.table import node_params

sys.path.insert(0, str(Path(__file__).resolve().parent / "ofxhost"))
import driver

pytestmark = pytest.mark.plugin

H, W = 64, 96
DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16, "float32": np.float32}
COMPONENTS = {"RGBA": 4, "RGB": 3, "Alpha": 1}
OFX_DEPTHS = {
    "uint8": "OfxBitDepthByte",
    "uint16": "OfxBitDepthShort",
    "float16": "OfxBitDepthHalf",
    "float32": "OfxBitDepthFloat",
}
FORMATS = [f"{d}-{c}" for d in DTYPES for c in COMPONENTS]
MISSING_WEIGHTS = "/nonexistent/file.safetensors"
OOM_SIDE, OOM_DATA_LIMIT = 4096, 2 << 30
OFX_STAT_ERR_MEMORY = 8


@pytest.fixture(scope="session")
def descriptor(built: driver.Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return driver.describe(built, tmp_path_factory.mktemp("describe"))


@pytest.fixture(scope="session")
def styles(descriptor: dict[str, Any]) -> tuple[str, str]:
    """A style other than the default, and a second style to blend with."""
    options = descriptor["contexts"]["filter"]["params"]["style"]["options"]
    return options[1], options[3]


def make_image(photo: np.ndarray, dtype: type, channels: int) -> np.ndarray:
    """A 64x96 crop of the test photo in the given format. RGBA is premultiplied (what the host
    declares for RGBA) with an alpha ramp; floats get a highlight above 1 (scene-linear)."""
    rgb = photo[32 : 32 + H, 16 : 16 + W].astype(np.float64) / 255.0
    alpha = np.tile(np.linspace(0.1, 1.0, W), (H, 1))[..., None]
    planes = {4: np.concatenate([rgb * alpha, alpha], axis=-1), 3: rgb, 1: alpha}[channels]
    if np.issubdtype(dtype, np.floating):
        planes = planes.copy()
        planes[:8, :8, : min(channels, 3)] *= 3.0  # values above 1 must survive
        return planes.astype(dtype)
    top = np.iinfo(dtype).max
    return np.floor(planes * top + 0.5).astype(dtype)


@pytest.fixture(scope="module")
def inputs(photo: np.ndarray) -> dict[str, np.ndarray]:
    out = {
        f"{d}-{c}": make_image(photo, t, n)
        for d, t in DTYPES.items()
        for c, n in COMPONENTS.items()
    }
    out["second"] = make_image(np.flipud(photo).copy(), np.float32, 4)
    return out


@pytest.fixture(scope="module")
def runs(
    built: driver.Built,
    styles: tuple[str, str],
    inputs: dict[str, np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[driver.Runs]:
    style, second = styles
    r = driver.Runs(built, tmp_path_factory.mktemp("plugin"))
    base = {"style": style}
    plain = inputs["float32-RGBA"]
    # One host process, one instance per format (a comp with twelve nodes): starting Python and
    # torch once instead of twelve times keeps the module fast on two cores.
    r.submit("formats", [{1: inputs[name]} for name in FORMATS], params=base)
    r.submit("float32-RGBA", {1: plain}, params=base)
    r.submit("negative", {1: plain}, params=base, row_bytes="negative")
    r.submit("padding", {1: plain}, params=base, row_padding=64)
    r.submit("offset", {1: plain}, params=base, offset=(-13, 29))
    r.submit(
        "strength-keys",
        {t: plain for t in (1, 2, 3)},
        params=base,
        keys={"strength": [(1, 0), (5, 1)]},
    )
    r.submit(
        "blend-keys",
        {3: plain},
        params={**base, "secondStyle": second},
        keys={"styleBlend": [(1, 0), (5, 1)]},
    )
    r.submit(
        "strength-0",
        {1: inputs["uint16-RGBA"]},
        params={**base, "strength": 0},
        row_bytes="negative",
    )
    r.submit("python-own", {1: plain}, params=base, python="own")
    r.submit("bad-value", {1: plain, 2: plain}, params=base, keys={"strength": [(1, 5), (2, 1)]})
    # MLT shows the buffer of a failed frame: one frame per "Failed frame shows" option.
    r.submit(
        "failed-frames",
        {t: inputs["uint16-RGBA"] for t in (1, 2, 3)},
        params={**base, "strength": 5},
        edits=[
            (2, "failedFrame", "Transparent black"),
            (3, "failedFrame", "Error colour (magenta)"),
        ],
        extra=("--keep-failed",),
    )
    r.submit(
        "no-weights", {1: plain}, params=base, env={"NEURALSTYLE_BUILTIN_WEIGHTS": MISSING_WEIGHTS}
    )
    r.submit("instances", {1: plain, 2: inputs["second"]}, params=base, instances=2)
    r.submit("scale-half", {1: plain}, params=base, render_scale=0.5, dump_inputs=True)
    mask = np.zeros((H, W, 1), np.float32)
    mask[:, W // 3 :] = 1.0
    r.submit("mask", {1: inputs["uint8-RGBA"]}, params=base, mask={1: mask})
    r.submit("cuda", {1: plain}, params=base, cuda=True)
    # Frame 1's first network layer alone wants 4096 x 4096 x 32 floats (2 GiB), more than the
    # host may have; Python, torch and the model fit in less than half of it. Frame 2 is small.
    huge = np.zeros((OOM_SIDE, OOM_SIDE, 4), np.uint8)
    r.submit(
        "out-of-memory",
        {1: huge, 2: inputs["uint8-RGBA"]},
        params={**base, "device": "CPU"},
        data_limit=OOM_DATA_LIMIT,
    )
    yield r
    r.pool.shutdown(wait=True, cancel_futures=True)


def stylize(image: np.ndarray, style: str, **kwargs: Any) -> np.ndarray:
    import neuralstyle

    return neuralstyle.stylize(image, style=style, **kwargs)


def assert_same(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Bit-exact; on failure the message gives the largest difference and where it is."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        f"{what}: {actual.shape} {actual.dtype} vs {expected.shape} {expected.dtype}"
    )
    if np.array_equal(actual.view(np.uint8), expected.view(np.uint8)):
        return
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    where = np.unravel_index(np.nanargmax(diff), diff.shape)
    pytest.fail(
        f"{what}: not bit-exact: max |diff| {np.nanmax(diff):g} at {where}, "
        f"{int((diff > 0).sum())} of {diff.size} values differ"
    )


def ok(result: driver.Result) -> driver.Result:
    assert result.returncode == driver.EXIT_OK, result.describe()
    return result


def assert_zero_copy(runs: driver.Runs, name: str, result: driver.Result) -> None:
    """The engine's first read and only write are the host's own buffers."""
    trace = runs.trace(name)
    rendered = [
        f
        for i in range(len(result.log["instances"]))
        for f in result.instance(i)["frames"]
        if "render_status" in f
    ]
    assert len(trace) == len(rendered), (
        f"{len(trace)} traced renders for {len(rendered)} host renders"
    )
    seen = {(t["time"], t["src_ptr"], t["dst_ptr"]) for t in trace}
    for f in rendered:
        src = next(i for i in f["images"] if i["clip"] == "Source")
        dst = next(i for i in f["images"] if i["clip"] == "Output")
        assert (f["time"], src["data"], dst["data"]) in seen, (
            f"frame {f['time']}: {src}, {dst} not in {seen}"
        )
        assert dst["data"] == f["output_buffer"]["data"]
    for t in trace:
        assert not t["src_owns_data"] and not t["dst_owns_data"]


# ---- descriptor ----------------------------------------------------------------------------------


def test_descriptor(descriptor: dict[str, Any]) -> None:
    assert descriptor["props"]["OfxImageEffectPropSupportsTiles"] == [0]
    assert descriptor["props"]["OfxImageEffectPluginRenderThreadSafety"] == [
        "OfxImageEffectRenderInstanceSafe"
    ]
    general = descriptor["contexts"]["general"]
    assert set(general["clips"]) == {"Source", "Mask", "Output"}
    assert general["clips"]["Mask"]["optional"] and general["clips"]["Mask"]["is_mask"]
    params = general["params"]
    assert set(params) >= {"style", "secondStyle", "styleBlend", "strength", "device"}
    strength = params["strength"]
    assert strength["kind"] == "double" and strength["animates"] is True
    assert (strength["default"], strength["min"], strength["max"]) == (1.0, 0.0, 1.0)
    blend = params["styleBlend"]
    assert blend["kind"] == "double" and (blend["min"], blend["max"]) == (0.0, 1.0)
    assert params["style"]["kind"] == "choice" and len(params["style"]["options"]) >= 2
    assert params["secondStyle"]["options"][1:] == params["style"]["options"]
    assert params["device"]["kind"] == "choice"


def test_descriptor_describes_every_method_and_styles_do_not_animate(
    descriptor: dict[str, Any],
) -> None:
    (description,) = descriptor["props"]["OfxPropPluginDescription"]
    for method in descriptor["contexts"]["general"]["params"]["method"]["options"]:
        assert method.split(" (")[0] in description, (method, description)
    for context in ("filter", "general"):
        params = descriptor["contexts"][context]["params"]
        # A choice animates unless it says otherwise (the spec's default); styles are picked once
        # and mixed by the animatable Style blend.
        assert params["style"]["animates"] is False
        assert params["secondStyle"]["animates"] is False
        assert params["styleBlend"]["animates"] is True


def test_descriptor_is_the_parameter_table(descriptor: dict[str, Any]) -> None:
    """Every parameter the plugin describes comes from neuralstyle/params/table.py, in its order,
    with its label, hint, default, ranges, menu and animation."""
    styles = [s.name for s in all_styles()]
    for context in ("filter", "general"):
        params = descriptor["contexts"][context]["params"]
        assert list(params) == [p.script_name for p in node_params()]
        for p in node_params():
            got = params[p.script_name]
            assert (got["label"], got["animates"]) == (p.label, p.animates), p.name
            assert got["hint"].startswith(p.hint), p.name
            if p.kind == "choice":
                assert got["options"] == [o.label for o in p.options], p.name
                assert got["default"] == p.values.index(str(p.default)), p.name
            elif p.kind == "style":
                none = [p.none_option] if p.none_option else []
                assert got["options"] == [*none, *styles], p.name
                assert got["default"] == 0, p.name
            elif p.kind == "file":
                assert (got["kind"], got["default"]) == ("string", ""), p.name
            else:
                assert p.hard is not None and p.slider_range is not None
                high = p.hard[1] if p.kind == "double" else min(p.hard[1], 2**31 - 1)
                assert (got["default"], got["min"], got["max"]) == (p.default, p.hard[0], high)
                if p.kind == "double":
                    assert (got["display_min"], got["display_max"]) == p.slider_range, p.name


# ---- pixels: every format, every layout ----------------------------------------------------------


@pytest.mark.parametrize("components", list(COMPONENTS))
@pytest.mark.parametrize("depth", list(DTYPES))
def test_render_equals_api(
    runs: driver.Runs,
    inputs: dict[str, np.ndarray],
    styles: tuple[str, str],
    depth: str,
    components: str,
) -> None:
    name = f"{depth}-{components}"
    result = ok(runs.get("formats"))
    k = FORMATS.index(name)
    assert_same(result.output(1, k), stylize(inputs[name], styles[0]), name)
    src, dst = result.image(1, "Source", k), result.image(1, "Output", k)
    assert src["row_bytes"] == W * COMPONENTS[components] * np.dtype(DTYPES[depth]).itemsize
    assert (src["depth"], dst["depth"]) == (OFX_DEPTHS[depth],) * 2
    traced = {(t["src_ptr"], t["dst_ptr"]) for t in runs.trace("formats")}
    assert (src["data"], dst["data"]) in traced  # the engine read and wrote the host's buffers


def test_zero_copy_for_every_instance(runs: driver.Runs) -> None:
    assert_zero_copy(runs, "formats", ok(runs.get("formats")))


@pytest.mark.parametrize("layout", ["negative", "padding", "offset"])
def test_layouts_equal_the_plain_render(runs: driver.Runs, layout: str) -> None:
    plain, result = ok(runs.get("float32-RGBA")), ok(runs.get(layout))
    assert_same(result.output(1), plain.output(1), layout)
    assert_zero_copy(runs, layout, result)
    src = result.image(1, "Source")
    trace = runs.trace(layout)[0]
    assert (
        trace["src_strides"][0] == src["row_bytes"]
        and trace["dst_strides"][0] == result.image(1, "Output")["row_bytes"]
    )
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        "negative": lambda i: i["row_bytes"] == -W * 16,
        "padding": lambda i: i["row_bytes"] == W * 16 + 64,
        "offset": lambda i: i["bounds"] == [-13, 29, W - 13, H + 29],
    }
    assert checks[layout](src), src


# ---- parameters ----------------------------------------------------------------------------------


def test_keyframed_strength(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = ok(runs.get("strength-keys"))
    plain = inputs["float32-RGBA"]
    first = result.frame(1)
    assert first["identity"] and "render_status" not in first  # strength 0 at the first key
    assert_same(result.output(1), plain, "strength 0 at frame 1")
    assert_same(
        result.output(3), stylize(plain, styles[0], strength=0.5), "strength 0.5 at frame 3"
    )


def test_keyframed_style_blend(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = ok(runs.get("blend-keys"))
    expected = stylize(inputs["float32-RGBA"], styles[0], second_style=styles[1], style_blend=0.5)
    assert_same(result.output(3), expected, "style blend 0.5 at frame 3")


def test_strength_zero_is_a_bit_exact_identity(
    runs: driver.Runs, inputs: dict[str, np.ndarray]
) -> None:
    result = ok(runs.get("strength-0"))
    frame = result.frame(1)
    assert frame["identity"] and frame["identity_clip"] == "Source"
    assert "OfxImageEffectActionRender" not in [a["action"] for a in result.instance()["actions"]]
    assert_same(result.output(1), inputs["uint16-RGBA"], "strength 0")


def test_mask_limits_the_effect(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = ok(runs.get("mask"))
    mask = np.zeros((H, W, 1), np.float32)
    mask[:, W // 3 :] = 1.0
    assert result.image(1, "Mask") is not None
    assert_same(result.output(1), stylize(inputs["uint8-RGBA"], styles[0], mask=mask), "masked")


# ---- interpreters, errors, concurrency, proxies, GPU ---------------------------------------------


def all_messages(result: driver.Result) -> list[str]:
    texts = [m["text"] for m in result.log.get("messages", [])]
    return texts + [
        m["text"] for i in range(len(result.log["instances"])) for m in result.messages(i)
    ]


def test_plugin_starts_python_in_a_python_free_host(runs: driver.Runs) -> None:
    result = ok(runs.get("float32-RGBA"))
    assert result.log["python"]["mode"] == "none"
    assert any("started its own Python" in t for t in all_messages(result)), all_messages(result)


def test_plugin_adopts_the_hosts_python(runs: driver.Runs) -> None:
    result = ok(runs.get("python-own"))
    assert result.log["python"]["mode"] == "own"
    assert any("adopted the host's Python" in t for t in all_messages(result)), all_messages(result)
    # The engine ran in the host's interpreter.
    assert "neuralstyle" in result.log["python"]["modules"]
    assert_same(result.output(1), ok(runs.get("float32-RGBA")).output(1), "python own")


def test_bad_value_fails_the_frame_and_the_next_renders(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = runs.get("bad-value")
    assert result.returncode == driver.EXIT_FAILED, result.describe()
    first, second = result.frame(1), result.frame(2)
    assert not first["ok"] and first.get("render_status") != 0  # Render or IsIdentity failed
    assert first["persistent"] is not None and first["persistent"]["type"] == "OfxMessageError"
    assert "strength" in first["persistent"]["text"]
    assert not result.frame_path("frame", 1).exists()
    assert second["ok"] and second["persistent"] is None
    assert_same(
        result.output(2), stylize(inputs["float32-RGBA"], styles[0]), "frame after the error"
    )


def test_a_failed_frame_shows_what_the_node_says(
    runs: driver.Runs, inputs: dict[str, np.ndarray]
) -> None:
    """MLT ignores a failed status and shows the buffer: never a partial frame or host poison."""
    result = runs.get("failed-frames")
    assert result.returncode == driver.EXIT_FAILED, result.describe()
    frames = [result.frame(t) for t in (1, 2, 3)]
    assert not any(f["ok"] for f in frames)
    assert all("strength" in f["persistent"]["text"] for f in frames)
    source, black, magenta = (np.load(f["failed_output"]) for f in frames)
    np.testing.assert_array_equal(source, inputs["uint16-RGBA"])  # the default
    assert black.dtype == np.uint16 and (black == 0).all()
    assert (magenta == np.array([65535, 0, 65535, 65535], np.uint16)).all()
    assert not result.frame_path("frame", 1).exists()


def test_missing_weights_give_a_message_not_a_crash(runs: driver.Runs) -> None:
    result = runs.get("no-weights")
    assert result.returncode == driver.EXIT_FAILED, result.describe()
    frame = result.frame(1)
    assert not frame["ok"]
    assert frame["persistent"] is not None and MISSING_WEIGHTS in frame["persistent"]["text"], (
        frame["persistent"]
    )


def test_out_of_memory_answers_err_memory_and_the_next_frame_renders(runs: driver.Runs) -> None:
    result = runs.get("out-of-memory")
    assert result.returncode == driver.EXIT_FAILED, result.describe()  # a failed frame, no crash
    first, second = result.frame(1), result.frame(2)
    assert not first["ok"] and first["render_status"] == OFX_STAT_ERR_MEMORY, first
    assert first["persistent"]["type"] == "OfxMessageError"
    assert first["persistent"]["text"].startswith("OutOfMemoryError: out of memory on cpu")
    assert not result.frame_path("frame", 1).exists()
    assert second["ok"] and second["persistent"] is None, second


def test_concurrent_instances_equal_a_single_instance(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = ok(runs.get("instances"))
    single = ok(runs.get("float32-RGBA")).output(1)
    second = stylize(inputs["second"], styles[0])
    for k in (0, 1):
        assert_same(result.output(1, k), single, f"instance {k} frame 1")
        assert_same(result.output(2, k), second, f"instance {k} frame 2")
    assert_zero_copy(runs, "instances", result)


def test_render_scale_half(runs: driver.Runs) -> None:
    result = ok(runs.get("scale-half"))
    out = result.output(1)
    assert out.shape == (H // 2, W // 2, 4)
    assert result.frame(1)["poison_pixels"] == 0
    assert result.image(1, "Source")["bounds"] == [0, 0, W // 2, H // 2]
    assert result.dumped_source(1).shape == out.shape


def test_cuda_buffers(
    runs: driver.Runs, inputs: dict[str, np.ndarray], styles: tuple[str, str]
) -> None:
    result = runs.get("cuda")
    if result.returncode == driver.EXIT_NO_CUDA:
        pytest.skip("no CUDA runtime or device for the host's --cuda mode")
    ok(result)
    assert result.log["plugin_capabilities"]["cuda_enabled"] is True
    assert_zero_copy(runs, "cuda", result)
    assert_same(
        result.output(1), stylize(inputs["float32-RGBA"], styles[0], device="cuda"), "CUDA render"
    )
