"""Hot operations: a torch reference each, with device kernels dispatched from the op's module."""

from neuralstyle.ops.instance_norm import (
    ConditionalInstanceNorm2d,
    InstanceNorm2d,
    conditional_instance_norm,
    instance_norm,
)

__all__ = [
    "ConditionalInstanceNorm2d",
    "InstanceNorm2d",
    "conditional_instance_norm",
    "instance_norm",
]
