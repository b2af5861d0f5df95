"""Spectral normalisation: the power iteration, and never-masked SN Dense/Embedding layers.

``spectral_sigma`` is shared with the masked layers (one power-iteration step per
call, the vector ``sn_u`` persisted only in training). The layers serve the
BigGAN-32 D head: the ADAPT reference leaves D's ``classifier`` linear and its SN
class embedding dense, but both carry ``torch.nn.utils.spectral_norm``.
"""

import keras
import tensorflow as tf
from keras import ops

from ddst_tf.layers.weight_saving import SaveAllWeights


def spectral_sigma(w, u_variable, output_axis, epsilon, training):
    """sigma(w) from one power iteration started at ``u_variable``; updates it in training.

    ``w`` is read as an (out, everything-else) matrix with outputs on ``output_axis``,
    as torch.nn.utils.spectral_norm does.
    """
    axis = output_axis % len(w.shape)
    perm = [axis] + [i for i in range(len(w.shape)) if i != axis]
    w_mat = tf.reshape(tf.transpose(w, perm), (w.shape[axis], -1))
    w_sg = tf.stop_gradient(w_mat)
    u = tf.convert_to_tensor(u_variable)
    v = tf.math.l2_normalize(tf.linalg.matvec(w_sg, u, transpose_a=True), epsilon=epsilon)
    u = tf.math.l2_normalize(tf.linalg.matvec(w_sg, v), epsilon=epsilon)
    if training:
        u_variable.assign(u)
    return tf.tensordot(u, tf.linalg.matvec(w_mat, v), axes=1)


def add_sn_vector(layer, length):
    """The persistent power-iteration vector ``sn_u`` of ``layer`` (one entry per output)."""
    return layer.add_weight(
        name="sn_u", shape=(length,), trainable=False, aggregation="only_first_replica",
        initializer=keras.initializers.RandomNormal(stddev=1.0))


@keras.saving.register_keras_serializable(package="ddst_tf")
class SpectralNormDense(SaveAllWeights, keras.layers.Dense):
    """``keras.layers.Dense`` whose kernel is divided by its spectral norm (never masked)."""

    def __init__(self, units, sn_epsilon=1e-12, **kwargs):
        super().__init__(units, **kwargs)
        self.sn_epsilon = float(sn_epsilon)

    def build(self, input_shape):
        super().build(input_shape)
        self.sn_u = add_sn_vector(self, self.units)

    def effective_kernel(self, training=False):
        """kernel / sigma(kernel), the kernel the forward pass uses."""
        w = tf.convert_to_tensor(self.kernel)
        return w / spectral_sigma(w, self.sn_u, -1, self.sn_epsilon, training)

    def call(self, inputs, training=False):
        outputs = ops.matmul(inputs, self.effective_kernel(training))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        return {**super().get_config(), "sn_epsilon": self.sn_epsilon}


@keras.saving.register_keras_serializable(package="ddst_tf")
class SpectralNormEmbedding(SaveAllWeights, keras.layers.Embedding):
    """``keras.layers.Embedding`` whose table is divided by its spectral norm.

    The table is (input_dim, output_dim), like torch's nn.Embedding weight, and
    torch normalises it along dim 0, so ``sn_u`` has one entry per class.
    """

    def __init__(self, input_dim, output_dim, sn_epsilon=1e-12, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self.sn_epsilon = float(sn_epsilon)

    def build(self, input_shape=None):
        super().build(input_shape)
        self.sn_u = add_sn_vector(self, self.input_dim)

    def effective_embeddings(self, training=False):
        """embeddings / sigma(embeddings), the table the forward pass uses."""
        w = tf.convert_to_tensor(self.embeddings)
        return w / spectral_sigma(w, self.sn_u, 0, self.sn_epsilon, training)

    def call(self, inputs, training=False):
        if inputs.dtype not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.effective_embeddings(training), inputs, axis=0)

    def compute_output_spec(self, inputs, training=False):
        return super().compute_output_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "sn_epsilon": self.sn_epsilon}
