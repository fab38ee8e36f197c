"""The node's arbitrary-style methods and controls, through the built bundle in our headless host:
the Method choice, style files, mask modes, colour, stroke scale, proxies, progress and abort.
Each frame must equal ``neuralstyle.stylize`` with the same values in this process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "ofxhost"))
import driver

import neuralstyle
from neuralstyle import metrics
from neuralstyle.io.images import write_image

pytestmark = pytest.mark.plugin

H, W = 48, 64
# MLT's preview at scale 0.5 of a 641x359 profile: it rounds each side on its own, to 320x178.
WIDE = (359, 641)
MLT_PROXY = (320, 178)
MLT_SCALE = (MLT_PROXY[0] / WIDE[1], MLT_PROXY[1] / WIDE[0])  # (0.4992, 0.4958)


@pytest.fixture(scope="module")
def plate(photo: np.ndarray) -> np.ndarray:
    """Scene-linear premultiplied RGBA with a highlight above 1, as a compositor hands it over."""
    rgb = (photo[16 : 16 + H, 24 : 24 + W].astype(np.float32) / 255.0) ** 2.2
    rgb[:6, :6] *= 3.0
    alpha = np.tile(np.linspace(0.2, 1.0, W, dtype=np.float32), (H, 1))[..., None]
    return np.concatenate([rgb * alpha, alpha], axis=-1).astype(np.float32)


def wide_plate() -> np.ndarray:
    """An 8-bit opaque RGBA frame of an odd size, as MLT hands it over."""
    from skimage import data, transform

    rgb = transform.resize(data.coffee(), WIDE, anti_aliasing=True)
    alpha = np.ones((*WIDE, 1))
    return (np.concatenate([rgb, alpha], axis=-1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from skimage import data, transform

    folder = tmp_path_factory.mktemp("styles")
    out = {}
    for name, image in (("cat", data.chelsea()), ("rocket", data.rocket())):
        small = transform.resize(image, (64, 80), anti_aliasing=True)
        out[name] = folder / f"{name}.png"
        write_image(out[name], (small * 255 + 0.5).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def half_mask() -> np.ndarray:
    mask = np.zeros((H, W, 1), np.float32)
    mask[:, : W // 2] = 1.0
    return mask


@pytest.fixture(scope="module")
def runs(
    built: driver.Built,
    plate: np.ndarray,
    files: dict[str, Path],
    half_mask: np.ndarray,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[driver.Runs]:
    r = driver.Runs(built, tmp_path_factory.mktemp("methods"))
    fast = {"method": "Any image: fast", "styleFile": files["cat"]}
    r.submit(
        "fast",
        {1: plate, 2: plate},
        params={**fast, "preserveColour": "Luminance only", "strokeScale": 1.5},
        keys={"strength": [(1, 0.5), (2, 1.0)]},
    )
    r.submit(
        "fast-styles",
        {1: plate},
        params={**fast, "secondStyleFile": files["rocket"], "maskMode": 1},
        mask={1: half_mask},
    )
    r.submit("fast-proxy", {1: plate}, params=fast, render_scale=0.5)
    adain = {"method": "Any image: AdaIN (legacy)", "styleFile": files["cat"], "strength": 0.5}
    r.submit("adain", {1: plate}, params=adain)
    r.submit("fast-full", {1: plate}, params=fast)
    r.submit("fast-proxy-odd", {1: plate[: H - 1, : W - 1]}, params=fast, render_scale=0.5)
    wide = {1: wide_plate()}
    r.submit(
        "fast-mlt",
        wide,
        params=fast,
        proxy_size=MLT_PROXY,
        rod="proxy",
        row_bytes="negative",
        dump_inputs=True,
    )
    r.submit("fast-proxy-xy", wide, params=fast, proxy_size=MLT_PROXY)
    r.submit(
        "missing-then-fixed",
        {1: plate, 2: plate},
        params={**fast, "styleFile": "/nonexistent/painting.png"},
        edits=[(2, "styleFile", files["cat"])],
    )
    optimize = {"method": 2, "styleFile": files["cat"], "quality": "Draft", "seed": 3}
    r.submit("optimize", {1: plate}, params=optimize)
    r.submit("optimize-abort", {1: plate, 2: plate}, params=optimize, extra=["--abort-after", "4"])
    yield r
    r.pool.shutdown(wait=True)


def ok(result: driver.Result) -> driver.Result:
    assert result.returncode == driver.EXIT_OK, result.describe()
    return result


def engine_render(
    src: np.ndarray,
    params: dict[str, object],
    render_scale: tuple[float, float],
    frame_size: tuple[int, int],
) -> np.ndarray:
    """What ``neuralstyle.host.render`` makes of a top-down premultiplied RGBA image, called in
    this process the way the plugin calls it."""
    from neuralstyle import host

    dst = np.zeros_like(src)
    bounds = (0, 0, src.shape[1], src.shape[0])

    def image(pixels: np.ndarray) -> dict[str, object]:
        rows_up = pixels[::-1]  # OFX orientation: row 0 at the bottom
        return {
            "pixels": rows_up,
            "bounds": bounds,
            "components": "RGBA",
            "premultiplication": "premultiplied",
        }

    instance = 1_000_000
    try:
        host.render(
            instance,
            image(src),
            {**image(dst), "window": bounds},
            params,
            1.0,
            render_scale,
            frame_size=frame_size,
        )
    finally:
        host.release(instance)
    return dst


def test_descriptor_has_the_method_params(built: driver.Built, tmp_path: Path) -> None:
    params = driver.describe(built, tmp_path)["contexts"]["general"]["params"]
    assert params["method"]["options"] == [
        "Built-in styles",
        "Any image: AdaIN (legacy)",
        "Any image: best (optimisation)",
        "Any image: fast",
        "Trained network",
    ]
    for name in ("styleFile", "secondStyleFile"):
        assert params[name]["kind"] == "string" and params[name]["default"] == ""
        assert params[name]["props"]["OfxParamPropStringMode"] == ["OfxParamStringIsFilePath"]
    stroke = params["strokeScale"]
    assert stroke["kind"] == "double" and stroke["animates"] is True
    assert (stroke["default"], stroke["min"], stroke["max"]) == (1.0, 0.1, 10.0)
    assert params["seed"]["kind"] == "int"
    assert params["quality"]["options"] == ["Draft", "Standard", "High"]
    assert len(params["preserveColour"]["options"]) == 3
    assert len(params["maskMode"]["options"]) == 2
    assert params["styleWeight"]["default"] == 30.0


def test_fast_frames_equal_the_api(
    runs: driver.Runs, plate: np.ndarray, files: dict[str, Path]
) -> None:
    result = ok(runs.get("fast"))
    for time, strength in ((1, 0.5), (2, 1.0)):
        expected = neuralstyle.stylize(
            plate,
            files["cat"],
            strength=strength,
            preserve_colour="luminance",
            stroke_scale=1.5,
            device="cpu",
        )
        assert np.array_equal(result.output(time), expected), f"frame {time}"
    assert not np.array_equal(result.output(1), result.output(2))
    assert np.array_equal(result.output(2)[..., 3], plate[..., 3])  # alpha passes through


def test_adain_still_renders_as_the_api(
    runs: driver.Runs, plate: np.ndarray, files: dict[str, Path]
) -> None:
    """Comps saved with the AdaIN method keep rendering it (option 1 of the menu)."""
    expected = neuralstyle.stylize(plate, files["cat"], method="adain", strength=0.5, device="cpu")
    assert np.array_equal(ok(runs.get("adain")).output(1), expected)


def test_mask_chooses_the_style(
    runs: driver.Runs, plate: np.ndarray, files: dict[str, Path], half_mask: np.ndarray
) -> None:
    out = ok(runs.get("fast-styles")).output(1)
    expected = neuralstyle.stylize(
        plate,
        files["cat"],
        second_style=files["rocket"],
        mask=half_mask,
        mask_mode="styles",
        device="cpu",
    )
    assert np.array_equal(out, expected)


def test_proxy_looks_like_the_full_render(runs: driver.Runs) -> None:
    proxy = ok(runs.get("fast-proxy")).output(1)
    full = ok(runs.get("fast-full")).output(1)
    assert proxy.shape == (H // 2, W // 2, 4)

    def display(x: np.ndarray) -> np.ndarray:
        straight = x[..., :3] / np.maximum(x[..., 3:], 1e-6)
        return np.clip(straight, 0, 1) ** (1 / 2.2)

    down = full.reshape(H // 2, 2, W // 2, 2, 4).mean(axis=(1, 3))
    assert metrics.ssim(display(proxy), display(down)) >= 0.9


def test_proxy_of_an_odd_frame_knows_the_frame_size(runs: driver.Runs) -> None:
    # 47x63 at render scale 0.5 is a 24x32 image, as is 48x64: the plugin tells the engine
    # which (the Source's region of definition), and the engine renders the right frame
    proxy = ok(runs.get("fast-proxy-odd")).output(1)
    assert proxy.shape == (H // 2, W // 2, 4)
    assert [r["frame_size"] for r in runs.trace("fast-proxy-odd")] == [[H - 1, W - 1]]
    assert [r["frame_size"] for r in runs.trace("fast-full")] == [[H, W]]


def test_mlt_proxy_of_an_odd_frame_knows_the_frame_size(
    runs: driver.Runs, files: dict[str, Path]
) -> None:
    # MLT hands 320x178 of a 641x359 frame at render scale (0.4992, 0.4958) and gives the Source's
    # region of definition in those pixels; a host that follows the spec gives the 641x359 frame.
    # The plugin reads both as that frame, scaling x by the x scale and y by the y scale.
    mlt, spec = ok(runs.get("fast-mlt")), ok(runs.get("fast-proxy-xy"))
    assert mlt.frame(1)["rod"] == [0, 0, *MLT_PROXY]
    assert spec.frame(1)["rod"] == [0, 0, WIDE[1], WIDE[0]]
    assert mlt.image(1, "Source")["render_scale"] == list(MLT_SCALE)
    for name in ("fast-mlt", "fast-proxy-xy"):
        assert [r["frame_size"] for r in runs.trace(name)] == [list(WIDE)], name
    params = {"method": "fast", "style_file": str(files["cat"])}
    expected = engine_render(mlt.dumped_source(1), params, MLT_SCALE, WIDE)
    assert np.array_equal(mlt.output(1), expected)
    assert np.array_equal(spec.output(1), expected)
    # The frame the x scale alone gives (641x357) is another picture: the size mattered.
    guessed = engine_render(mlt.dumped_source(1), params, MLT_SCALE, (357, WIDE[1]))
    assert not np.array_equal(guessed, expected)


def test_missing_style_file_is_a_message_and_the_next_frame_renders(runs: driver.Runs) -> None:
    result = runs.get("missing-then-fixed")
    assert result.returncode == driver.EXIT_FAILED, result.describe()
    first = result.frame(1)
    assert not first["ok"]
    assert first["persistent"]["text"] == (
        "ImageIOError: cannot read style image /nonexistent/painting.png: no such file"
    )
    assert not result.frame_path("frame", 1).exists()
    second = result.frame(2)
    assert second["ok"] and second["persistent"] is None
    assert result.output(2).shape == (H, W, 4)


def test_optimize_reports_progress_and_equals_the_api(
    runs: driver.Runs, plate: np.ndarray, files: dict[str, Path]
) -> None:
    result = ok(runs.get("optimize"))
    progress: dict[str, Any] = result.frame(1)["progress"]
    assert progress["starts"] == 1 and progress["ends"] == 1
    assert progress["updates"] >= 60 and progress["last"] == 1.0
    expected = neuralstyle.stylize(
        plate, files["cat"], method="optimize", quality="draft", seed=3, device="cpu"
    )
    assert np.array_equal(result.output(1), expected)


def test_abort_stops_the_render_and_leaves_no_frame(runs: driver.Runs) -> None:
    result = runs.get("optimize-abort")
    assert result.returncode == driver.EXIT_FAILED, result.describe()
    for time in (1, 2):
        frame = result.frame(time)
        assert not frame["ok"] and frame["progress"]["updates"] == 4
        assert frame["progress"]["ends"] == 1
        assert "RenderAbortedError" in frame["persistent"]["text"]
        assert not result.frame_path("frame", time).exists()


def test_the_host_process_leaves_no_unpacked_network_behind(
    built: driver.Built, plate: np.ndarray, tmp_path: Path
) -> None:
    """torch unpacks a compiled network into ``$TMPDIR/aotinductor_*`` and removes it only with
    its loader; the plugin's Python is never finalised, so unloading the plugin lets the
    networks go (kOfxActionUnload purges the engine's caches)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = driver.run(
        built, tmp_path / "work", {1: plate}, params={"style": "mosaic"},
        env={"TMPDIR": str(scratch)},
    )  # fmt: skip
    assert result.returncode == driver.EXIT_OK, result.describe()
    assert result.frame(1)["ok"]
    assert not list(scratch.glob("aotinductor_*"))
