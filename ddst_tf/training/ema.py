"""Sparse exponential moving average (SEMA) of the generator's weights.

Trainable weights: ``avg = (decay * avg + (1 - decay) * w) * mask`` for masked
kernels, the plain EMA otherwise. Multiplying by G's current mask at every update
is the official code's SEMA (``avg *= mask`` at a mask change, then EMA): where
the mask did not change, ``avg`` is already zero at pruned positions and ``w`` is
zero there too, so the product is a no-op. The EMA generator therefore has
exactly G's sparsity at all times. Non-trainable weights (masks, batch-norm
moving statistics, spectral-norm vectors) are copied, as the official code
evaluates the EMA parameters with G's buffers.
"""

import tensorflow as tf

from ddst_tf.sparse.view import masked_layers


class SparseEMA:
    """Keeps ``ema_model`` an exponential moving average of ``model``."""

    def __init__(self, model, ema_model, decay):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1); got {decay!r}")
        self.decay = float(decay)
        pairs = list(zip(ema_model.weights, model.weights, strict=True))
        for ema_var, var in pairs:
            if tuple(ema_var.shape) != tuple(var.shape):
                raise ValueError(
                    f"EMA model does not match the model: {ema_var.path} has shape "
                    f"{tuple(ema_var.shape)}, {var.path} has {tuple(var.shape)}")
        mask_of = {id(layer.kernel_variable): layer.mask for layer in masked_layers(model)}
        self._trainable = [(e, v, mask_of.get(id(v))) for e, v in pairs if v.trainable]
        self._copied = [(e, v) for e, v in pairs if not v.trainable]

    def reset(self):
        """Make the EMA model an exact copy of the model."""
        for ema_var, var, _ in self._trainable:
            ema_var.assign(var)
        for ema_var, var in self._copied:
            ema_var.assign(var)

    def update(self):
        """One EMA step (call once per iteration, after the G step and any mask change)."""
        for ema_var, var, mask in self._trainable:
            new = self.decay * ema_var + (1.0 - self.decay) * var
            if mask is not None:
                new = new * tf.cast(mask, new.dtype)
            ema_var.assign(new)
        for ema_var, var in self._copied:
            ema_var.assign(var)
