"""The main job: a 24-frame shot rendered through the Neural Style plugin in our headless host.

A slow push-in on a photograph that ships with scikit-image becomes a scene-linear RGBA plate; the
plugin renders it with strength keyframed 0 -> 1 and the style blend keyframed between two built-in
styles. Frames are written as EXR (half, scene-linear) with a contact sheet PNG beside them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "build" / "NeuralStyle.ofx.bundle"
HOST = ROOT / "build" / "tests" / "ofxhost" / "ofxhost"


def push_in_plate(frames: int, width: int, height: int) -> list[np.ndarray]:
    """Scene-linear premultiplied RGBA float32 frames: a slow push-in on scikit-image's 'coffee'."""
    import torch
    from skimage import data, transform

    from neuralstyle.pixel_encoding import srgb_decode

    photo = data.coffee().astype(np.float32) / 255.0
    ph, pw = photo.shape[:2]
    plate = []
    for i in range(frames):
        zoom = 1.0 + 0.25 * i / max(frames - 1, 1)
        ch, cw = int(ph / zoom), int(pw / zoom)
        y0, x0 = (ph - ch) // 2, (pw - cw) // 2
        crop = transform.resize(
            photo[y0 : y0 + ch, x0 : x0 + cw], (height, width), anti_aliasing=True
        )
        rgb = srgb_decode(torch.from_numpy(crop.astype(np.float32))).numpy()
        alpha = np.ones((height, width, 1), np.float32)
        plate.append(np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1), dtype=np.float32))
    return plate


def contact_sheet(frames: list[np.ndarray], columns: int = 6, thumb_width: int = 256) -> np.ndarray:
    """Display-referred uint8 grid of the frames (sRGB-encoded thumbnails, alpha dropped)."""
    import torch
    from skimage import transform

    from neuralstyle.pixel_encoding import srgb_encode

    h, w = frames[0].shape[:2]
    th = round(h * thumb_width / w)
    rows = -(-len(frames) // columns)
    sheet = np.zeros((rows * th, columns * thumb_width, 3), np.float32)
    for i, frame in enumerate(frames):
        thumb = transform.resize(frame[..., :3], (th, thumb_width), anti_aliasing=True)
        r, c = divmod(i, columns)
        sheet[r * th : (r + 1) * th, c * thumb_width : (c + 1) * thumb_width] = thumb
    encoded = srgb_encode(torch.from_numpy(np.clip(sheet, 0.0, 1.0))).numpy()
    return (np.clip(encoded, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "out" / "main_job")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the plate")
    parser.add_argument("--style", default=None, help="first style (default: the first built-in)")
    parser.add_argument("--second-style", default=None, help="second style (default: the tenth)")
    args = parser.parse_args(argv)

    from neuralstyle.io.images import write_image
    from neuralstyle.models.styles import STYLES

    for path in (BUNDLE, HOST):
        if not path.exists():
            print(f"main_job: {path} is missing; run scripts/setup.sh", file=sys.stderr)
            return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    style = args.style or STYLES[0].name
    second = args.second_style or STYLES[9].name
    last = args.frames
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="neuralstyle-main-job-") as tmp:
        plate_dir, render_dir = Path(tmp) / "plate", Path(tmp) / "render"
        plate_dir.mkdir()
        plate = push_in_plate(last, width, height)
        for i, frame in enumerate(plate, start=1):
            np.save(plate_dir / f"plate.{i:04d}.npy", frame)
        command = [
            str(HOST),
            "--bundle", str(BUNDLE),
            "--input", str(plate_dir / "plate.%04d.npy"),
            "--frames", f"1-{last}",
            "--out-dir", str(render_dir),
            "--param", f"style={style}",
            "--param", f"secondStyle={second}",
            "--key", f"strength=1:0,{last}:1",
            "--key", f"styleBlend=1:0,{last}:1",
            "--log", str(Path(tmp) / "log.json"),
        ]  # fmt: skip
        print(f"main_job: rendering {last} frames {width}x{height} through the plugin "
              f"(style {style} -> {second}, strength keyed 0 -> 1)", flush=True)  # fmt: skip
        start = time.perf_counter()
        result = subprocess.run(command, check=False)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            print(f"main_job: the host failed with exit code {result.returncode}", file=sys.stderr)
            return 1
        frames = [np.load(render_dir / f"frame.{i:04d}.npy") for i in range(1, last + 1)]
        log = json.loads((Path(tmp) / "log.json").read_text())

    for i, frame in enumerate(frames, start=1):
        write_image(args.out / f"styled.{i:04d}.exr", frame.astype(np.float16))
    write_image(args.out / "contact_sheet.png", contact_sheet(frames))
    summary = {
        "frames": last,
        "size": [width, height],
        "style": style,
        "second_style": second,
        "seconds": round(seconds, 2),
        "seconds_per_frame": round(seconds / last, 3),
        "host_python": log.get("python"),
        "output": str(args.out),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
