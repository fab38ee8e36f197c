"""The frame arena (engine/frame_arena.py): a frame's large blocks are kept for the next frames,
split and merged again, nothing else is kept, a new size drops the old regions, and frames keep
their bits and stop faulting their memory in afresh."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import neuralstyle
from neuralstyle import host
from neuralstyle.engine import frame_arena
from neuralstyle.errors import InputError

PYTHONPATH = str(Path(neuralstyle.__file__).parents[1])
MB = 2**20


@pytest.fixture
def arena() -> Iterator[None]:
    if not frame_arena.start():
        pytest.fail("the frame arena did not build or load (a C++ compiler and torch's headers)")
    frame_arena.release()
    yield
    frame_arena.release()


def _block(nbytes: int) -> torch.Tensor:
    return torch.empty(nbytes, dtype=torch.uint8)


@pytest.mark.usefixtures("arena")
def test_a_frame_reuses_the_block_the_frame_before_it_freed() -> None:
    size = 3 * MB + 4096  # a size nothing else here asks for
    with frame_arena.frame():
        first = _block(size)
        address = first.data_ptr()
        del first
    assert frame_arena.kept_bytes() == size
    with frame_arena.frame():
        again = _block(size)
        assert again.data_ptr() == address
        assert frame_arena.kept_bytes() == 0
        del again


@pytest.mark.usefixtures("arena")
def test_only_large_blocks_of_a_frame_are_kept() -> None:
    outside = _block(4 * MB)
    with frame_arena.frame():
        small = _block(MB - 1)
        del outside, small  # one allocated outside any frame, one too small
    assert frame_arena.kept_bytes() == 0


@pytest.mark.usefixtures("arena")
def test_a_block_the_frame_hands_out_is_kept_when_it_is_freed_later() -> None:
    with frame_arena.frame():
        result = _block(2 * MB)
    result.fill_(7)  # the caller uses the frame's result after the frame
    assert frame_arena.kept_bytes() == 0
    del result
    assert frame_arena.kept_bytes() == 2 * MB


@pytest.mark.usefixtures("arena")
def test_a_new_size_frees_the_blocks_of_the_old_one() -> None:
    with frame_arena.frame():
        _block(5 * MB)  # freed at once
    assert frame_arena.kept_bytes() == 5 * MB
    with frame_arena.frame():
        other = _block(6 * MB)
        assert frame_arena.kept_bytes() == 0  # the 5 MB block went with the first miss
        del other
    assert frame_arena.kept_bytes() == 6 * MB
    assert frame_arena.release() == 6 * MB
    assert frame_arena.kept_bytes() == 0


@pytest.mark.usefixtures("arena")
def test_a_free_region_serves_smaller_requests_and_its_pieces_merge_again() -> None:
    with frame_arena.frame():
        whole = _block(8 * MB)
        base = whole.data_ptr()
        del whole
    with frame_arena.frame():
        a, b = _block(3 * MB), _block(4 * MB)  # best fit: both out of the 8 MB region
        assert (a.data_ptr(), b.data_ptr()) == (base, base + 3 * MB)
        assert frame_arena.kept_bytes() == MB
        del b, a
        assert frame_arena.kept_bytes() == 8 * MB
        assert _block(8 * MB).data_ptr() == base  # merged back into one piece


@pytest.mark.usefixtures("arena")
def test_a_block_the_system_cannot_give_is_torch_s_out_of_memory_error() -> None:
    with frame_arena.frame():
        kept = _block(2 * MB)
        del kept
        with pytest.raises(RuntimeError, match="can't allocate memory"):
            _block(2**55)  # 32 PB
        assert frame_arena.kept_bytes() == 0  # given back before the second try
        assert int(_block(2 * MB).fill_(3).sum()) == 3 * 2 * MB


@pytest.mark.usefixtures("arena")
def test_threads_rendering_frames_at_once_get_their_own_blocks() -> None:
    errors: list[str] = []

    def render(seed: int) -> None:
        for frame in range(15):
            with frame_arena.frame():
                blocks = [_block((2 + (seed + k) % 3) * MB) for k in range(3)]
                for k, b in enumerate(blocks):
                    b.fill_(seed * 10 + k)
                for k, b in enumerate(blocks):
                    if not bool((b == seed * 10 + k).all()):
                        errors.append(f"thread {seed} frame {frame} block {k}")
                del blocks

    threads = [threading.Thread(target=render, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_host_purge_frees_the_kept_blocks(arena: None) -> None:
    with frame_arena.frame():
        _block(3 * MB)  # freed at once
    assert frame_arena.kept_bytes() == 3 * MB
    host.purge_caches()
    assert frame_arena.kept_bytes() == 0


# Renders three 1024x512 frames (two pictures: a, b, a) in a fresh process; prints the page faults
# of the last frame and the frames' hashes.
_FRAMES = """
import hashlib, resource, sys
import numpy as np
import neuralstyle
from neuralstyle.engine import frame_arena
rng = np.random.default_rng(0)
a, b = (rng.random((512, 1024, 3), dtype=np.float32) for _ in range(2))
digests = []
for picture in (a, b, a):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = neuralstyle.stylize(picture, "mosaic", device="cpu")
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    digests.append(hashlib.sha256(out.tobytes()).hexdigest())
print(frame_arena.installed(), faults, *digests)
"""


def _frames(**env: str) -> tuple[bool, int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _FRAMES],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": PYTHONPATH} | env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    installed, faults, *digests = done.stdout.split()
    return installed == "True", int(faults), digests


def test_frames_keep_their_bits_and_stop_faulting_their_memory_in() -> None:
    kept, kept_faults, kept_digests = _frames()
    plain, plain_faults, plain_digests = _frames(NEURALSTYLE_KEEP_MEMORY="0")
    assert kept and not plain
    # the blocks a frame gets back hold the frame before's pixels: nothing may read them unwritten
    assert kept_digests == plain_digests
    assert kept_digests[0] == kept_digests[2] != kept_digests[1]
    # a 32-channel activation is 64 MB at this size, over glibc's largest mmap threshold (32 MB)
    assert plain_faults > 16384  # measured 48,787 pages afresh, 28 with the arena
    assert kept_faults < plain_faults / 10


def test_without_a_compiler_frames_render_without_the_arena(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FRAMES],
        capture_output=True,
        text=True,
        env=os.environ
        | {"PYTHONPATH": PYTHONPATH, "NEURALSTYLE_COMPILED": str(tmp_path)}
        | {"NEURALSTYLE_COMPILE": "off", "CXX": "/bin/false"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "False"
    assert done.stderr.count("without the frame arena") == 1
    assert not list(tmp_path.glob("frame_arena-*.so"))


def test_the_library_is_built_into_the_compiled_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURALSTYLE_COMPILED", str(tmp_path))
    path = frame_arena.library_path()
    assert path.parent == tmp_path and path.name.startswith("frame_arena-")
    assert frame_arena.build(path) == path and path.is_file()
    assert path.stat().st_mode & 0o777 == 0o755  # a shared installation's users load it


def test_a_bad_setting_is_a_one_line_error(
    tmp_path: Path, photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(frame_arena.ENV, "yes")
    with pytest.raises(InputError, match="NEURALSTYLE_KEEP_MEMORY must be 0 or 1"):
        frame_arena.requested()
    source = tmp_path / "in.png"
    Image.fromarray(photo[:64, :64]).save(source)
    done = subprocess.run(
        [sys.executable, "-m", "neuralstyle", "stylize", str(source), "-o",
         str(tmp_path / "out.png"), "--style", "mosaic"],
        capture_output=True, text=True, env=os.environ | {"PYTHONPATH": PYTHONPATH}, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "neuralstyle: error: NEURALSTYLE_KEEP_MEMORY must be 0 or 1, got 'yes'"
    ]
    assert not (tmp_path / "out.png").exists()
    for value, on in (("1", True), ("0", False), ("", True)):
        monkeypatch.setenv(frame_arena.ENV, value)
        assert frame_arena.requested() is on
