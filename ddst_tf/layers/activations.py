"""Activations with gradients computed from their output, for TF's graph optimizer.

``LeakyReLU`` equals ``keras.layers.LeakyReLU`` in values and gradients (y > 0 exactly when
x > 0, and the backward pass multiplies by 1 or the slope as TF's LeakyReluGrad does), but its
gradient reads the output instead of the input. With Keras' layer after a convolution, TF's
grappler remapper fails under a gradient tape ("remapper failed: ... LeakyReluGrad ... missing
node ... BiasAdd", an ERROR line per trace) and leaves the step unfused; here the fusion goes
through. ``ddst_tf.export.strip`` turns it into ``keras.layers.LeakyReLU``.
"""

import keras
import tensorflow as tf


def _leaky_relu(features, negative_slope):
    @tf.custom_gradient
    def forward(x):
        outputs = tf.nn.leaky_relu(x, alpha=negative_slope)

        def grad(upstream):
            return tf.where(outputs > 0, upstream, upstream * negative_slope)

        return outputs, grad

    return forward(features)


@keras.saving.register_keras_serializable(package="ddst_tf")
class LeakyReLU(keras.layers.Layer):
    """``keras.layers.LeakyReLU(negative_slope)`` with its gradient taken from the output."""

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        if not negative_slope > 0:
            raise ValueError(f"negative_slope must be > 0 (the gradient is read from the "
                             f"output's sign); got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return _leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
