"""Hooks that exist for tests; off unless a test turns them on.

Each hook is read by exactly one place in the product and does nothing there unless its switch is
set. This package sits at the bottom of the dependency graph: it imports only
:mod:`neuralstyle.errors`, the standard library, numpy and torch, never the engine, ops, farm or
host, so any layer may ask it. Importing it (or a submodule) has no side effects.

Hooks:
    :mod:`~neuralstyle.testing.trace`: env var ``NEURALSTYLE_TRACE`` (a file path). Read by
        :func:`neuralstyle.host.render`, which appends one JSON line per render with the buffers'
        data pointers, strides and ownership, so tests can prove no copy was made.
    :mod:`~neuralstyle.testing.poison`: context manager :func:`~.poison.poisoned_outputs` (this
        thread). Read by the kernel allocators of ``neuralstyle.ops._cuda``, which fill every
        kernel output and workspace with NaN before the launch, so a kernel that skips an element
        is caught.
    :mod:`~neuralstyle.testing.faults`: env vars ``NEURALSTYLE_FARM_INJECT`` and
        ``NEURALSTYLE_FARM_INJECT_STATE``. Read by the Dask task wrapper
        (:func:`neuralstyle.farm.dask_backend.run_chunk`), which injects transient errors, killed
        workers and hangs at chosen frames.
"""
