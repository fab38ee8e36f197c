"""Train a style of one's own (``neuralstyle train``): a tiny run at 64 px checks the loop, the
checkpoints and the file; the file then renders as a style through the API, the CLI and the node
in our OpenFX host; files that are not trained styles are refused with one clear line."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.cli import main as cli_main
from neuralstyle.errors import InputError, ModelError
from neuralstyle.io.images import write_image
from neuralstyle.models import trained_style
from neuralstyle.training.perceptual import PerceptualLoss
from neuralstyle.training.style_settings import TrainSettings
from neuralstyle.training.style_trainer import StyleTrainer
from neuralstyle.training.train_state import CHECKPOINT_JSON, CHECKPOINT_TENSORS

TINY = {"size": 64, "batch": 1, "warmup": 2, "threads": 2}


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    """A texture the tests train on (scikit-image's brick, never a held-out style)."""
    from skimage import data, transform

    grey = transform.resize(data.brick(), (96, 96), anti_aliasing=True)
    rgb = np.stack([grey, grey * 0.8, grey * 0.5], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def _trainer(painting: np.ndarray, work: Path, **kw: object) -> StyleTrainer:
    return StyleTrainer(painting, TrainSettings(**{**TINY, **kw}), work)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained(painting: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole network trained 24 steps at 64 px, written as a trained style."""
    work = tmp_path_factory.mktemp("train")
    trainer = _trainer(painting, work, steps=24, lr=5e-3)
    trainer.train(bar=False, log_every=4, preview_every=12, checkpoint_every=12)
    out = work / "mystyle.safetensors"
    trainer.export(out)
    return out


def test_loss_falls_and_previews_are_written(trained: Path) -> None:
    work = trained.parent
    history = json.loads((work / "history.json").read_text())
    first, last = history[0], history[-1]
    assert last["step"] == 24
    assert last["style"] < 0.7 * first["style"], history
    assert last["total"] < first["total"], history
    assert sorted(p.name for p in (work / "previews").iterdir()) == [
        "step-000012.png",
        "step-000024.png",
    ]


def test_the_painting_stands_at_one_and_a_half_crop_sides(
    painting: np.ndarray, tmp_path: Path
) -> None:
    """Its statistics are taken at 1.5 crop sides by default (64 px crops: the 96 px brick as it
    is), which sets the strokes' size; ``style_size`` moves it."""
    as_it_is = PerceptualLoss(torch.from_numpy(painting).permute(2, 0, 1)[None] / 255, "cpu")
    default = _trainer(painting, tmp_path / "default", steps=1)
    smaller = _trainer(painting, tmp_path / "smaller", steps=1, style_size=64)
    for layer, gram in as_it_is.grams.items():
        assert torch.equal(default.loss.grams[layer], gram), layer
        assert not torch.allclose(smaller.loss.grams[layer], gram, rtol=1e-2), layer


def test_the_style_loss_pools_the_batch(painting: np.ndarray) -> None:
    """The crops together must hold the painting's statistics, not each crop: a painting half
    dark texture, half flat light colour, is matched by a batch of its two halves, not by
    either half alone."""
    dark = torch.from_numpy(painting).permute(2, 0, 1)[None] / 255 * 0.5
    light = torch.tensor([0.9, 0.85, 0.7])[None, :, None, None].expand(1, 3, 96, 96)
    loss = PerceptualLoss(torch.cat([dark, light], dim=3), "cpu")

    def style(batch: torch.Tensor) -> float:
        return float(loss(batch, batch)[1])

    both = style(torch.cat([dark, light]))
    assert both < 0.5 * min(style(dark), style(light)), (both, style(dark), style(light))


@pytest.mark.parametrize("terms", [{}, {"adversarial": 0.1, "stability": 1.0}])
def test_resume_is_bit_identical(painting: np.ndarray, tmp_path: Path, terms: dict) -> None:
    straight = _trainer(painting, tmp_path / "a", steps=4, **terms)
    straight.train(bar=False, checkpoint_every=100, log_every=1)
    first = _trainer(painting, tmp_path / "b", steps=4, **terms)
    first.train(bar=False, checkpoint_every=2, log_every=1, until=2)
    assert (tmp_path / "b" / CHECKPOINT_TENSORS).is_file()
    resumed = _trainer(painting, tmp_path / "b", steps=4, **terms)
    assert resumed.resume() and resumed.step == 2
    resumed.train(bar=False, checkpoint_every=100, log_every=1)
    for (name, a), (_, b) in zip(
        straight.net.state_dict().items(), resumed.net.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    if terms:
        assert straight.disc is not None and resumed.disc is not None
        for a, b in zip(straight.disc.parameters(), resumed.disc.parameters(), strict=True):
            assert torch.equal(a, b)
    assert [h["total"] for h in straight.history] == [h["total"] for h in resumed.history]


def test_resume_refuses_other_settings_and_cut_checkpoints(
    painting: np.ndarray, tmp_path: Path
) -> None:
    _trainer(painting, tmp_path, steps=2).train(bar=False, checkpoint_every=1)
    with pytest.raises(InputError, match="other settings \\(style_weight\\)"):
        _trainer(painting, tmp_path, steps=2, style_weight=1.0).resume()
    with pytest.raises(InputError, match="another painting"):
        _trainer(255 - painting, tmp_path, steps=2).resume()
    record = json.loads((tmp_path / CHECKPOINT_JSON).read_text())
    record["tensors_sha256"] = "0" * 64
    (tmp_path / CHECKPOINT_JSON).write_text(json.dumps(record))
    with pytest.raises(ModelError, match="not the ones its JSON records"):
        _trainer(painting, tmp_path, steps=2).resume()


def test_bank_style_trains_only_its_rows(painting: np.ndarray, tmp_path: Path) -> None:
    from neuralstyle.models.weights import load_builtin_weights

    trainer = _trainer(painting, tmp_path, mode="bank", steps=3, lr=1e-2)
    trainer.train(bar=False)
    out = tmp_path / "bank.safetensors"
    trainer.export(out)
    assert out.stat().st_size < 20_000  # rows only
    style = trained_style.load_trained_style(out)
    builtin = load_builtin_weights()
    for name, value in style.state_dict.items():
        if name.endswith((".gamma", ".beta")):
            assert value.shape[0] == 1
        else:
            assert torch.equal(value, builtin[name]), name
    gamma = style.state_dict["res.0.0.norm.gamma"]
    assert not torch.allclose(gamma, builtin["res.0.0.norm.gamma"].mean(0, keepdim=True))


def test_the_file_is_a_style_for_the_api_and_the_cli(
    trained: Path, photo: np.ndarray, tmp_path: Path
) -> None:
    image = photo[:45, :61]
    out = neuralstyle.stylize(image, style=str(trained))  # the method follows the suffix
    again = neuralstyle.stylize(image, style=trained, method="trained", device="cpu")
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, again)
    assert np.abs(out.astype(int) - image).mean() > 5  # it paints
    from neuralstyle.methods.trained import load_trained

    # compiled from its first frame: its weights in the package every trained style shares
    assert load_trained(str(trained), trained, "cpu").compiled
    half = neuralstyle.stylize(image, style=str(trained), strength=0.0)
    np.testing.assert_array_equal(half, image)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    write_image(src, image)
    assert cli_main(["stylize", str(src), "-o", str(dst), "--style", str(trained)]) == 0
    from neuralstyle.io.images import read

    np.testing.assert_array_equal(read(dst).pixels, out)


def test_cli_trains(painting: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    style = tmp_path / "painting.png"
    write_image(style, painting)
    out = tmp_path / "cli.safetensors"
    argv = ["train", str(style), "-o", str(out), "--bank", "--steps", "2", "--size", "64"]
    assert cli_main([*argv, "--batch", "1", "--preview-every", "1"]) == 0
    meta = trained_style.read_header(out)
    assert meta["kind"] == "bank"
    assert json.loads(meta["settings"])["steps"] == 2
    assert (tmp_path / "cli.training" / "previews" / "step-000002.png").is_file()
    assert cli_main([*argv, "--batch", "1"]) == 0  # resumes: nothing left to do
    assert "resumed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a safetensors file"),
        (b"\x80\x04\x95" + b"\0" * 64, "not a safetensors file"),  # a pickle
        (None, "not a style trained by `neuralstyle train`"),
        (b"", "not a safetensors file"),
    ],
)
def test_files_that_are_not_trained_styles_are_refused(
    tmp_path: Path, photo: np.ndarray, content: bytes | None, message: str
) -> None:
    path = tmp_path / "foreign.safetensors"
    if content is None:
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "someone-else"})
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        neuralstyle.stylize(photo, style=str(path))
    assert cli_main(["stylize", "x.png", "-o", str(tmp_path / "o.png"), "--style", str(path)]) == 3
    assert not (tmp_path / "o.png").exists()


def test_damaged_and_missing_files(trained: Path, tmp_path: Path, photo: np.ndarray) -> None:
    data = trained.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: 8 + size + 100])  # the header, then a few bytes of tensors
    with pytest.raises(ModelError, match="damaged safetensors file"):
        neuralstyle.stylize(photo, style=str(cut))
    with pytest.raises(ModelError, match="no such file"):
        neuralstyle.stylize(photo, style=str(tmp_path / "gone.safetensors"))
    with pytest.raises(InputError, match="a trained network paints one style"):
        neuralstyle.stylize(photo, style=str(trained), second_style=str(trained))
    with pytest.raises(InputError, match="render it with method trained"):
        neuralstyle.stylize(photo, style=str(trained), method="fast")
    with pytest.raises(InputError, match="trained networks have none"):
        neuralstyle.stylize(photo, style=str(trained), preserve_colour="histogram")


def test_bad_training_input(painting: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"written as \.safetensors"):
        neuralstyle.train_style(painting, tmp_path / "x.pt")
    with pytest.raises(InputError, match="size must be an integer >= 32"):
        neuralstyle.train_style(painting, tmp_path / "x.safetensors", size=16)
    assert not list(tmp_path.iterdir())


@pytest.mark.plugin
def test_the_node_renders_the_file(trained: Path, photo: np.ndarray, built: object) -> None:
    """Method "Trained network" with the file as the Style file, through our OpenFX host, equals
    ``neuralstyle.stylize`` with the same values."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "ofxhost"))
    import driver

    rgb = (photo[:40, :56].astype(np.float32) / 255.0) ** 2.2
    plate = np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=-1)
    params = {"method": "Trained network", "styleFile": trained, "strength": 0.8}
    result = driver.run(built, trained.parent / "node", {1: plate}, params=params)  # type: ignore[arg-type]
    assert result.returncode == driver.EXIT_OK, result.describe()
    expected = neuralstyle.stylize(plate, style=str(trained), strength=0.8, device="cpu")
    np.testing.assert_array_equal(result.output(1), expected)


def test_the_farm_renders_the_file(trained: Path, tmp_path: Path) -> None:
    """``neuralstyle render --style mystyle.safetensors``: the method follows the file (the
    frames equal the API's trained render, at the written half float's precision)."""
    from farm_support import make_sequence, read_header, read_pixels, render

    pattern = make_sequence(tmp_path / "plate", [1, 2])
    done = render([pattern, "-o", str(tmp_path / "o/s.####.exr"), "--frames", "1-2",
                   "--style", str(trained), "--strength", "0.7", "--device", "cpu"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    params = json.loads(str(read_header(tmp_path / "o/s.0002.exr")["neuralstyle:params"]))
    assert params["style"] == str(trained)
    for frame in (1, 2):
        plate = read_pixels(Path(pattern.replace("####", f"{frame:04d}")))[..., :4].copy()
        expected = neuralstyle.stylize(plate, str(trained), strength=0.7, device="cpu")
        got = read_pixels(tmp_path / f"o/s.{frame:04d}.exr")[..., :4]
        assert np.array_equal(got, expected.astype(np.float16).astype(np.float32)), frame
