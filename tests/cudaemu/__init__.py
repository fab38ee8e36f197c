"""Runs the CUDA kernels of ``cuda/`` on the CPU (see ``emulator.h``), for tests without a GPU."""
