r"""Optical flow between two source frames, with a confidence mask: OpenCV's DIS (Kroeger et al.
2016), computed both ways, checked as in Sundaram et al. 2010 (the check of Ruder et al. 2016).

The flow is *backward*: pixel :math:`x` of the target frame is at :math:`x + w(x)` in the source
frame, which is what warping the source into the target needs
(:func:`neuralstyle.temporal.warp.warp`). Pixel centres are at integer coordinates, :math:`(0, 0)`
the top-left pixel.

Confidence is 1 where the flow can be trusted, 0 elsewhere:

- forward-backward consistency, with :math:`\hat w(x) = w_{back}(x + w(x))` sampled bilinearly:
  :math:`|w + \hat w|^2 \le 0.01 (|w|^2 + |\hat w|^2) + 0.5`; fails at occlusions;
- motion boundaries: :math:`|\nabla u|^2 + |\nabla v|^2 > 0.01 |w|^2 + 0.002` (central
  differences) marks a boundary, where the flow of the patch is a mixture of two motions;
- brightness: the luma at :math:`x` and at :math:`x + w` in the source differ by at most 40
  8-bit levels (ours, not Sundaram's: see below);
- a point :math:`x + w` outside the source frame (beyond the outer pixel centres, as
  :func:`neuralstyle.temporal.warp.inside` says) gets 0, as in Ruder et al.'s checker.

**Margin and brightness.** The regions that fail the first three checks are grown by 2 px (a 5x5
erosion of the trusted set). DIS smears a moving object's flow several pixels past its edge, alike
in both directions, so the outer part of the smear passes the consistency check and would pull the
object into the background it uncovered (a ghost, once warped). Measured on a 32 px sprite moving
3-24 px a frame over a static photograph (160x120; "wrong": trusted pixels whose flow is more than
1 px off) and on the pans and zooms of three photographs, clean and with noise (sigma 5 levels),
trusted share of the interior:

==========================  ===================  ==========  ======================
checks                      trail still trusted  wrong       pans/zooms trusted
==========================  ===================  ==========  ======================
Sundaram only               15-46 %              42-333      97.2-100 %
+ 2 px margin               0-10 %               0-78        92.5-100 %
+ brightness                8-34 %               24-194      97.2-100 %
+ both (this module)        0-2 %                0-2         92.5-100 % (noisy 91.8)
==========================  ===================  ==========  ======================

The brightness check costs no trusted pixel on the pans, noise included: 40 levels is wide, meant
to pass grain and small exposure drifts (real clips not measured yet) and to reject a match onto
another object.

The mask stays hard 0/1, the occlusion mask of the warping error (Lai et al. 2018); a consumer that
wants a soft weight blurs it, so the metric and the consolidation read the same decision.

**Preset**, measured on synthetic pans (+1.5, +0.5 px and -6.25, +3.5 px) and a 2 % zoom of three
photographs (scikit-image astronaut, coffee, rocket) with exact known flow: frames are bicubic
samples of the blurred photograph under known affine maps, quantised to uint8. EPE is the mean
endpoint error :math:`|w - w_{true}|` over confident pixels 16 px from the border, averaged over
the photographs; the time is one :func:`flow_between` call (both directions and the check), median
over the cases, on 2 shared cores of an AVX-512 Xeon (ranges: three runs):

=========  ==================  ==================  =======  =========  =========
preset     EPE 540p pan/zoom   EPE 1080p pan/zoom  540p ms  1080p ms   4K
=========  ==================  ==================  =======  =========  =========
medium     0.10 / 0.12 px      0.11 / 0.15 px      86-100   376-446    2.2-2.9 s
fine       0.07 / 0.08 px      0.09 / 0.11 px      310-332  1290-1409  6.9-10 s
=========  ==================  ==================  =======  =========  =========

``"medium"`` is OpenCV's ``PRESET_MEDIUM`` (patch search down to half resolution, then variational
refinement); ``"fine"`` is the same with the patch search at full resolution (finest scale 0;
OpenCV has no finer preset). ``"medium"`` is the default: ``"fine"`` takes a third off an error
that is already a tenth of a pixel, far under a brush stroke and under the bilinear warp's own
blur, for 3.4x the time. Of the 1080p medium call, DIS is 2 x 135 ms and the checks (numpy) 190 ms.

**Determinism.** The farm needs the same bits on every machine. DIS gives identical bits run to run
and for any ``cv2.setNumThreads`` (measured 1, 2, 4, 8, 16 threads), but with OpenCV's optimised
code on, the bits depend on the CPU: with AVX2 dispatch switched off (``OPENCV_CPU_DISABLE``), or
Intel IPP's SSE4.2 variant in place of its AVX-512 one (``OPENCV_IPP``), the flow changed.
:func:`flow_between` therefore turns ``cv2.setUseOptimized`` off around the call (restoring it
after, under a lock so two threads cannot interleave the switch, and in every thread that works for
it: :mod:`neuralstyle.temporal.baseline_cv`), which runs the wheel's baseline code: the same bits
under every ``OPENCV_CPU_DISABLE`` / ``OPENCV_IPP`` setting tried, so on every x86-64 machine with
the same OpenCV wheel. It costs DIS no measurable time (the table is measured with it). The check is
float32 numpy elementwise arithmetic and OpenCV's baseline remap, exact on any CPU: the whole
:class:`Flow` hashed the same with numpy's ``NPY_DISABLE_CPU_FEATURES`` switching AVX-512, AVX2 and
FMA off, and with ``OPENCV_CPU_DISABLE`` down to SSE3. Other architectures (aarch64) run other code
and may give other bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neuralstyle.errors import InputError
from neuralstyle.temporal.baseline_cv import baseline_opencv, side_by_side

__all__ = [
    "CONSOLIDATION_SIDE",
    "PRESETS",
    "Flow",
    "compose",
    "flow_between",
    "flows_both_ways",
    "shrink_factor",
]

#: Preset name -> (OpenCV preset, finest pyramid scale of the patch search).
PRESETS: dict[str, tuple[int, int]] = {
    "medium": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 1),
    "fine": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 0),
}

#: The long side up to which consolidation's flow runs at the frames' own size; larger frames'
#: flow runs on pictures shrunk to 1/2, 1/3... (:func:`shrink_factor`), and is brought back to
#: the frame's size where it is used (:meth:`Flow.resized`). DIS and the checks cost 0.66 s a
#: pair of random-texture frames at 1080p, 0.13 s at 540p: half of a temporal frame's extra time
#: at full size. Measured at 1080p on a pan, the steadied frames' warping error and sharpness
#: are those of the full-size flow (benchmarks/RESULTS.md, bm_temporal, "At 1080p").
CONSOLIDATION_SIDE = 1024

#: Pixels by which the regions that fail the checks are grown ("Margin and brightness" above).
_MARGIN = 2
#: Largest luma difference, in 8-bit levels, between a pixel and the point it maps to.
_LUMA_TOLERANCE = 40


@dataclass(frozen=True)
class Flow:
    """Backward flow from a target frame into a source frame, and how far to trust it.

    Shape:
        - vectors: :math:`(H, W, 2)` float32, ``(dx, dy)`` in pixels: pixel ``(x, y)`` of the
          target is at ``(x + dx, y + dy)`` in the source
        - confidence: :math:`(H, W)` float32, 1 where the flow passed the checks, else 0
    """

    vectors: np.ndarray
    confidence: np.ndarray

    def resized(self, height: int, width: int) -> Flow:
        """This flow on a frame of ``height`` x ``width`` (a flow computed on shrunk pictures,
        :func:`shrink_factor`): the vectors brought up bilinearly and scaled; a pixel is trusted
        only where every pixel of this flow around it was. Itself when it is that size already.
        """
        h, w = self.confidence.shape
        if (h, w) == (height, width):
            return self
        scale = np.array([width / w, height / h], dtype=np.float32)
        with baseline_opencv():
            vectors = cv2.resize(
                self.vectors * scale, (width, height), interpolation=cv2.INTER_LINEAR
            )
            trust = cv2.resize(self.confidence, (width, height), interpolation=cv2.INTER_LINEAR)
            # 1 where every pixel around was trusted: the bilinear weights of a whole-factor
            # upsampling sum to 1 within rounding, and one untrusted corner weighs 1/16 or more
            # up to a factor of 4 (1/64 at 8K).
            cv2.threshold(trust, 0.999, 1.0, cv2.THRESH_BINARY, dst=trust)
        return Flow(vectors, trust)


def shrink_factor(height: int, width: int) -> int:
    """The whole factor by which a frame is shrunk for consolidation's flow: the smallest that
    brings its long side to :data:`CONSOLIDATION_SIDE` or under."""
    return max(1, -(-max(height, width) // CONSOLIDATION_SIDE))


def _grey(name: str, image: object) -> np.ndarray:
    """Rec. 601 luma as uint8, in integer arithmetic (OpenCV's weights), so it is exact anywhere."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = type(image).__name__
        if isinstance(image, np.ndarray):
            got = f"{image.dtype} {image.shape}"
        raise InputError(f"flow_between: expected {name} as an (H, W, 3) RGB array, got {got}")
    if image.dtype == np.uint8:
        rgb = image.astype(np.int32)
    elif np.issubdtype(image.dtype, np.floating):
        rgb = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.int32)
    else:
        raise InputError(f"flow_between: expected {name} as uint8 or float, got {image.dtype}")
    luma = (rgb[..., 0] * 4899 + rgb[..., 1] * 9617 + rgb[..., 2] * 1868 + 8192) >> 14
    return np.ascontiguousarray(luma.astype(np.uint8))


def _dis(target: np.ndarray, source: np.ndarray, preset: str) -> np.ndarray:
    """DIS flow ``target -> source``, (H, W, 2) float32: ``target(x) ~ source(x + w)``."""
    code, finest = PRESETS[preset]
    dis = cv2.DISOpticalFlow.create(code)
    dis.setFinestScale(finest)
    # None, not an array: DIS takes a flow of the right size as its initial guess (the stubs
    # insist on an array).
    flow = dis.calc(target, source, None)  # type: ignore[call-overload]
    return np.asarray(flow, dtype=np.float32)


def _sample(planes: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Bilinear samples of (H, W, C) float32 planes at (H, W) points inside them, by OpenCV's
    remap (positions rounded to 1/32 px), inside a :func:`baseline_opencv` block: a fifth of
    the time of the same samples in numpy (24 ms at 540p)."""
    return np.asarray(cv2.remap(planes, cv2.merge([px, py]), None, cv2.INTER_LINEAR))


def _confidence(
    forward: np.ndarray, backward: np.ndarray, target: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """The checks of the module docstring on (H, W, 2) flows and (H, W) uint8 luma, at least 2x2:
    1 where ``forward`` (target -> source) agrees with ``backward``, off motion boundaries, where
    the luma matches, landing inside. Inside a :func:`baseline_opencv` block."""
    h, w = forward.shape[:2]
    u, v = forward[..., 0], forward[..., 1]
    px = np.arange(w, dtype=np.float32)[None, :] + u
    py = np.arange(h, dtype=np.float32)[:, None] + v
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    px, py = np.clip(px, 0, w - 1), np.clip(py, 0, h - 1)
    planes = np.dstack([backward, source.astype(np.float32)])
    sampled = _sample(planes, px, py)
    bu, bv, luma = sampled[..., 0], sampled[..., 1], sampled[..., 2]
    matches = np.abs(target.astype(np.float32) - luma) <= np.float32(_LUMA_TOLERANCE)
    norm = u * u + v * v
    loop = (u + bu) ** 2 + (v + bv) ** 2
    consistent = loop <= np.float32(0.01) * (norm + bu * bu + bv * bv) + np.float32(0.5)
    du_y, du_x = np.gradient(u)
    dv_y, dv_x = np.gradient(v)
    variation = du_x * du_x + du_y * du_y + dv_x * dv_x + dv_y * dv_y
    boundary = variation > np.float32(0.01) * norm + np.float32(0.002)
    trusted = (consistent & ~boundary & matches).astype(np.uint8)
    # Grow the rejected regions ("Margin and brightness" above); a minimum is exact on any CPU.
    side = 2 * _MARGIN + 1
    grown = np.asarray(
        cv2.erode(trusted, np.ones((side, side), np.uint8), borderType=cv2.BORDER_REPLICATE)
    )
    out: np.ndarray = (inside & (grown > 0)).astype(np.float32)
    return out


def flow_between(target: np.ndarray, source: np.ndarray, *, preset: str = "medium") -> Flow:
    """Backward optical flow from ``target`` into ``source`` (DIS on luma) and its confidence.

    Computed on source plates, never on stylised frames. Bit-identical run to run, for any
    OpenCV thread count and on any x86-64 CPU (module docstring).

    Args:
        target: the frame the flow is defined on.
        source: the frame it points into.
        preset: ``"medium"`` (default) or ``"fine"`` (module docstring: accuracy and time).

    Shape:
        - target, source: :math:`(H, W, 3)` display-referred RGB, uint8 or float in [0, 1], same
          size, at least 2x2
        - returns :class:`Flow` with vectors :math:`(H, W, 2)` and confidence :math:`(H, W)`

    Raises:
        InputError: not (H, W, 3) uint8/float arrays, different sizes, or an unknown preset.
    """
    return flows_both_ways(target, source, preset=preset)[0]


def flows_both_ways(
    first: np.ndarray, second: np.ndarray, *, preset: str = "medium"
) -> tuple[Flow, Flow]:
    """:func:`flow_between` of ``(first, second)`` and of ``(second, first)`` from one pair of
    DIS runs (each direction's check needs both anyway): a shot's renderer asks for each pair
    of frames from both sides. Each result has the bits :func:`flow_between` gives it.

    Raises:
        InputError: as :func:`flow_between`.
    """
    if preset not in PRESETS:
        raise InputError(f"flow_between: expected preset in {sorted(PRESETS)}, got {preset!r}")
    a, b = _grey("target", first), _grey("source", second)
    if a.shape != b.shape:
        raise InputError(
            f"flow_between: frames differ in size: target {first.shape}, source {second.shape}"
        )
    if min(a.shape) < 2:
        raise InputError(f"flow_between: expected frames of at least 2x2, got {first.shape}")
    return _luma_flows(a, b, preset)


def compose(first: Flow, second: Flow) -> Flow:
    """The flow from frame A into frame C through frame B: ``first`` from A into B, then
    ``second`` from B into C, sampled where ``first`` lands (:math:`w_{AC}(x) = w_{AB}(x) +
    w_{BC}(x + w_{AB}(x))`). Trusted where ``first`` is, lands inside B, and every pixel of B
    around the landing point is trusted by ``second``.

    The consolidation chains its window's neighbouring pairs this way: one pair of DIS runs per
    new frame instead of K, and the flow into a frame k away passes through the frames between
    (:mod:`neuralstyle.temporal.window`).

    Shape:
        - first, second: flows of one size (vectors :math:`(H, W, 2)`, confidence :math:`(H, W)`)
    """
    import torch  # not at module level: the metric's flow needs no torch

    from neuralstyle.temporal.warp import warp_inside

    def planar(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]

    step = planar(first.vectors)
    fields = torch.cat([planar(second.vectors), planar(second.confidence[..., None])], dim=1)
    landed, inside = warp_inside(fields, step)
    vectors = (step + landed[:, :2])[0].permute(1, 2, 0)
    # bilinear weights sum to 1 only up to rounding: "every corner trusted" is "about 1"
    trusted = (landed[0, 2] > 0.999) & (inside[0, 0] > 0) & torch.from_numpy(first.confidence > 0)
    return Flow(
        np.ascontiguousarray(vectors.numpy(), dtype=np.float32),
        trusted.numpy().astype(np.float32),
    )


def _luma_flows(a: np.ndarray, b: np.ndarray, preset: str) -> tuple[Flow, Flow]:
    """Both flows of two (H, W) uint8 lumas, checked (the two checks side by side: numpy's
    arithmetic runs on one core)."""
    with baseline_opencv():
        forward, backward = _dis(a, b, preset), _dis(b, a, preset)
        there, back = side_by_side(
            _confidence, (forward, backward, a, b), (backward, forward, b, a)
        )
    return Flow(forward, there), Flow(backward, back)
