"""Errors the engine raises on bad input, missing models or unusable devices.

Every error a user can cause is a :class:`NeuralStyleError`. Its message is one line that says what
was expected and what came; the CLI prints it and exits with :attr:`exit_code`, the plugin shows it
on the node. Anything else escaping the engine is a bug.
"""

from __future__ import annotations


class NeuralStyleError(Exception):
    """Base class: a user-facing failure with a one-line message."""

    exit_code = 1


class InputError(NeuralStyleError):
    """A bad image, file, parameter value or command-line usage."""

    exit_code = 2


class ModelError(NeuralStyleError):
    """Weights are missing, corrupt or of the wrong shape."""

    exit_code = 3


class ImageIOError(NeuralStyleError):
    """An image file could not be read or written."""

    exit_code = 4


class DeviceError(NeuralStyleError):
    """The requested device is unavailable or ran out of memory (retryable on another node)."""

    exit_code = 75


class OutOfMemoryError(DeviceError):
    """The device ran out of memory. ``device`` is its type, ``"cuda"`` or ``"cpu"``: the plugin
    answers the host ``kOfxStatGPUOutOfMemory`` for the one and ``kOfxStatErrMemory`` for the other.
    """

    def __init__(self, message: str, device: str) -> None:
        super().__init__(message)
        self.device = device

    def __reduce__(self) -> tuple[type[OutOfMemoryError], tuple[str, str]]:
        # Farm workers send errors between processes; the default pickling drops ``device``.
        return type(self), (str(self), self.device)


class RenderAbortedError(NeuralStyleError):
    """The host (or the caller's progress callback) asked a long render to stop."""

    exit_code = 130
