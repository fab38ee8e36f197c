"""Running out of memory reaches the user as OutOfMemoryError, naming the device and its type (the
plugin answers the host kOfxStatErrMemory or kOfxStatGPUOutOfMemory from the type)."""

from __future__ import annotations

import pickle

import pytest
import torch

from neuralstyle.engine.device import device_errors
from neuralstyle.errors import DeviceError, OutOfMemoryError


def test_a_real_cpu_allocation_failure_is_out_of_memory_on_cpu() -> None:
    cpu = torch.device("cpu")
    with (
        pytest.raises(OutOfMemoryError, match=r"^out of memory on cpu: ") as info,
        device_errors(cpu),
    ):
        torch.empty(1 << 50, dtype=torch.uint8)  # a petabyte: no allocator gives it
    assert info.value.device == "cpu"
    assert isinstance(info.value, DeviceError) and info.value.exit_code == 75


def test_cuda_out_of_memory_carries_the_device_type() -> None:
    # The message is all device_errors reads, so no GPU is needed.
    with pytest.raises(OutOfMemoryError) as info, device_errors(torch.device("cuda:1")):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore")
    assert (
        str(info.value) == "out of memory on cuda:1: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    assert info.value.device == "cuda"


def test_python_memory_error_is_out_of_memory() -> None:
    with (
        pytest.raises(OutOfMemoryError, match="on cpu: MemoryError") as info,
        device_errors(torch.device("cpu")),
    ):
        raise MemoryError
    assert info.value.device == "cpu"


def test_the_device_survives_pickling() -> None:
    # Farm workers send errors between processes.
    error = pickle.loads(pickle.dumps(OutOfMemoryError("out of memory on cuda:0: x", "cuda")))
    assert (str(error), error.device) == ("out of memory on cuda:0: x", "cuda")
