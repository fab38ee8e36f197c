"""Freed memory kept for the next frame (engine/freed_memory.py): the commands keep it, a page
freed by one frame is reused by the next without faulting, and the frames have the same bits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import neuralstyle
from neuralstyle.engine import freed_memory
from neuralstyle.errors import InputError
from neuralstyle.io.images import read

PYTHONPATH = str(Path(neuralstyle.__file__).parents[1])

# Allocates, fills and frees a 200 MB block three times (the C library's malloc, which torch's
# CPU allocator calls); prints the page faults of the last two.
_FAULTS = """
import ctypes, resource, sys
from neuralstyle.engine import freed_memory
if sys.argv[1] == "1":
    assert freed_memory.keep_freed_memory() and freed_memory.kept()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(3):
    if i == 1:
        before = faults()
    block = libc.malloc(200_000_000)
    ctypes.memset(block, 1, 200_000_000)
    libc.free(block)
print(faults() - before)
"""


def _python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": PYTHONPATH} | env,
        check=False,
    )


def test_a_block_freed_is_reused_without_faulting_its_pages_again() -> None:
    pages = 200_000_000 // 4096
    plain = _python("-c", _FAULTS, "0")
    kept = _python("-c", _FAULTS, "1")
    assert plain.returncode == 0 and kept.returncode == 0, plain.stderr + kept.stderr
    assert int(plain.stdout) > 2 * 0.9 * pages  # mapped afresh and faulted in again
    assert int(kept.stdout) < 0.01 * pages


def test_the_commands_keep_freed_memory_and_the_frames_keep_their_bits(
    tmp_path: Path, photo: np.ndarray
) -> None:
    source = tmp_path / "in.png"
    Image.fromarray(photo[:96, :128]).save(source)
    outputs = {}
    for setting in ("1", "0"):
        out = tmp_path / f"out{setting}.exr"
        done = _python(
            "-m", "neuralstyle", "stylize", str(source), "-o", str(out), "--style", "mosaic",
            NEURALSTYLE_KEEP_MEMORY=setting,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs[setting] = read(out).pixels
    assert np.array_equal(outputs["1"], outputs["0"])  # (the files' headers say when)
    check = "from neuralstyle.command import run_command; from neuralstyle.engine import "
    check += "freed_memory as f; import argparse; p = argparse.ArgumentParser(); "
    check += "p.set_defaults(run=lambda a: 0); run_command(p, []); print(f.kept())"
    assert _python("-c", check).stdout.strip() == "True"
    assert _python("-c", check, NEURALSTYLE_KEEP_MEMORY="0").stdout.strip() == "False"
    # a farm task's or a Dask worker's render process
    serve = "import os, threading; from multiprocessing.connection import Pipe; "
    serve += "from neuralstyle.farm import task_process as t; from neuralstyle.engine import "
    serve += "freed_memory as f; a, b = Pipe(); threading.Thread(target=t._serve, args=(b,), "
    serve += "daemon=True).start(); print(a.recv()[0], f.kept()); a.send(('exit',))"
    assert _python("-c", serve).stdout.split() == ["ready", "True"]


def test_a_bad_setting_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(freed_memory.ENV, "yes")
    with pytest.raises(InputError, match="NEURALSTYLE_KEEP_MEMORY must be 0 or 1"):
        freed_memory.requested(default=True)
    done = _python("-m", "neuralstyle", "styles", NEURALSTYLE_KEEP_MEMORY="yes")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "neuralstyle: error: NEURALSTYLE_KEEP_MEMORY must be 0 or 1, got 'yes'"
    ]
    monkeypatch.delenv(freed_memory.ENV)
    assert freed_memory.requested(default=True) and not freed_memory.requested(default=False)
