"""Keras 3 layers whose kernel is multiplied by a binary mask weight.

Every masked layer owns a non-trainable ``mask`` shaped like its kernel, created
with ``aggregation="only_first_replica"`` so that under ``tf.distribute`` all
replicas read replica 0's mask (the default aggregation lets replicas drift).

Forward pass: ``W_eff = kernel * mask``, optionally spectrally normalised
(the mask applies to the raw weight, SN to the masked weight, as the paper's D).

Gradients: ``d loss / d kernel`` is ``g * mask`` (zero at pruned positions).
The dense gradient with respect to the effective kernel, ``g = d loss / d W_eff``,
is what gradient-based regrowth (RigL) needs; the custom gradient of the mask
product delivers it as the gradient of the ``mask`` variable, see
:func:`effective_kernel_gradients`.

Pruned entries stay exactly zero: the kernel variable's constraint multiplies it
by the mask, and Keras 3 optimizers apply variable constraints after every
update (Adam's moments would otherwise move pruned weights).
"""

import keras
import tensorflow as tf
from keras import ops

from ddst_tf.layers.spectral_norm import add_sn_vector, spectral_sigma
from ddst_tf.layers.weight_saving import SaveAllWeights


@tf.custom_gradient
def _mask_product(kernel, mask):
    """kernel * mask; the mask's cotangent is the dense upstream gradient."""

    def grad(upstream):
        return upstream * mask, upstream

    return kernel * mask, grad


class _MaskConstraint:
    """Kernel constraint that zeroes pruned entries, after a user constraint."""

    def __init__(self, mask, inner=None):
        self.mask = mask
        self.inner = inner

    def __call__(self, kernel):
        if self.inner is not None:
            kernel = self.inner(kernel)
        return kernel * ops.cast(self.mask, kernel.dtype)


class MaskedKernelMixin(SaveAllWeights):
    """Mask, optional spectral norm and effective-kernel logic shared by the layers.

    Subclasses call ``_init_masking`` in ``__init__``; ``build`` adds the mask
    after the Keras layer's weights; their ``call`` uses ``self.effective_kernel(training)``.
    """

    # Axis of the kernel that indexes output units; SN treats the kernel as an
    # (out, everything-else) matrix, as torch.nn.utils.spectral_norm does.
    _output_axis = -1

    def _init_masking(self, spectral_norm, sn_epsilon):
        self.spectral_norm = bool(spectral_norm)
        self.sn_epsilon = float(sn_epsilon)
        if getattr(self, "data_format", "channels_last") != "channels_last":
            raise ValueError(f"{type(self).__name__} supports data_format='channels_last' "
                             f"only, got {self.data_format!r}")

    def build(self, input_shape):
        super().build(input_shape)
        self._build_masking()

    def get_config(self):
        return {**super().get_config(), **self._masking_config()}

    @property
    def kernel_variable(self):
        """The raw (unmasked) kernel variable."""
        return self._kernel if hasattr(self, "_kernel") else self.kernel

    def _build_masking(self):
        kernel = self.kernel_variable
        self.mask = self.add_weight(
            name="mask",
            shape=kernel.shape,
            initializer="ones",
            trainable=False,
            aggregation="only_first_replica",
        )
        kernel.constraint = _MaskConstraint(self.mask, self.kernel_constraint)
        if self.spectral_norm:
            self.sn_u = add_sn_vector(self, kernel.shape[self._output_axis])

    def masked_kernel(self):
        """kernel * mask, before spectral normalisation."""
        kernel = self.kernel_variable
        return _mask_product(
            tf.convert_to_tensor(kernel), tf.cast(self.mask, kernel.dtype)
        )

    def effective_kernel(self, training=False):
        """The kernel the forward pass uses (masked, then spectrally normalised)."""
        w = self.masked_kernel()
        if not self.spectral_norm:
            return w
        return w / spectral_sigma(w, self.sn_u, self._output_axis, self.sn_epsilon, training)

    def apply_mask(self):
        """Zero the kernel where the mask is zero (after masks are set by hand)."""
        kernel = self.kernel_variable
        kernel.assign(kernel * tf.cast(self.mask, kernel.dtype))

    def _masking_config(self):
        return {"spectral_norm": self.spectral_norm, "sn_epsilon": self.sn_epsilon}

    def _finish(self, outputs):
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="ddst_tf")
class MaskedDense(MaskedKernelMixin, keras.layers.Dense):
    """``keras.layers.Dense`` with a kernel mask and optional spectral norm."""

    def __init__(self, units, spectral_norm=False, sn_epsilon=1e-12, **kwargs):
        super().__init__(units, **kwargs)
        self._init_masking(spectral_norm, sn_epsilon)

    def call(self, inputs, training=False):
        return self._finish(ops.matmul(inputs, self.effective_kernel(training)))


@keras.saving.register_keras_serializable(package="ddst_tf")
class MaskedConv2D(MaskedKernelMixin, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with a kernel mask and optional spectral norm."""

    def __init__(self, filters, kernel_size, spectral_norm=False, sn_epsilon=1e-12,
                 **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self._init_masking(spectral_norm, sn_epsilon)

    def call(self, inputs, training=False):
        return self._finish(self.convolution_op(inputs, self.effective_kernel(training)))


@keras.saving.register_keras_serializable(package="ddst_tf")
class MaskedConv2DTranspose(MaskedKernelMixin, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` with a kernel mask and optional spectral norm.

    Keras stores the transposed kernel as (kh, kw, filters, in_channels), so the
    output axis for spectral normalisation is -2.
    """

    _output_axis = -2

    def __init__(self, filters, kernel_size, spectral_norm=False, sn_epsilon=1e-12,
                 **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self._init_masking(spectral_norm, sn_epsilon)

    def call(self, inputs, training=False):
        outputs = ops.conv_transpose(
            inputs,
            self.effective_kernel(training),
            strides=list(self.strides),
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        return self._finish(outputs)


MASKED_LAYER_TYPES = (MaskedDense, MaskedConv2D, MaskedConv2DTranspose)


def effective_kernel_gradients(tape, target, layers):
    """Dense gradients of ``target`` w.r.t. each layer's effective kernel.

    ``tape`` must have watched the layers' masks (``watch_masks``) before the
    forward pass. Entries at pruned positions are non-zero, which is what
    gradient-based regrowth needs; ``d target / d kernel`` would be zero there.
    """
    return tape.gradient(target, [layer.mask for layer in layers],
                         unconnected_gradients=tf.UnconnectedGradients.ZERO)


def watch_masks(tape, layers):
    """Make ``tape`` record the masks so effective-kernel gradients are available."""
    for layer in layers:
        tape.watch(layer.mask.value if hasattr(layer.mask, "value") else layer.mask)
