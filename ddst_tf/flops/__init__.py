"""Training FLOPs by the paper's counting rules: per layer, per iteration, over a run."""

from ddst_tf.flops.accountant import FlopsAccountant
from ddst_tf.flops.counting import forward_flops, iteration_flops, layer_flops
from ddst_tf.flops.estimate import estimate

__all__ = ["FlopsAccountant", "estimate", "forward_flops", "iteration_flops", "layer_flops"]
