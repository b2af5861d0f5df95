"""Class-conditional batch norm of the BigGAN-32 generator, from built-in Keras layers.

ADAPT's ``biggan.32`` ConditionalBatchNorm2d (``cbn_linear=False``): BatchNorm
without affine parameters, then ``x * (1 + gain[y]) + bias[y]`` with one
``nn.Embedding(num_classes, C)`` each for gain and bias (no shared class
embedding, no SN). The ``1 +`` is folded into the gain table's initial value
(N(1, 0.02) instead of N(0, 0.02)): the same function and the same gradients, and
the block needs no custom layer, so stripped conditional generators are plain Keras.
Embeddings are never masked.
"""

import keras

from ddst_tf.models.initializers import biggan_embedding_initializer


def conditional_batch_norm(x, labels, num_classes, name):
    """Normalise NHWC ``x`` (no affine, statistics synchronized over replicas), then scale
    and shift by per-class embeddings.

    Layers: ``<name>_bn``, ``<name>_gain`` and ``<name>_bias`` (Embedding tables
    [num_classes, C]), plus reshape/multiply/add layers.
    """
    channels = x.shape[-1]
    h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, scale=False,
                                        synchronized=True, name=f"{name}_bn")(x)
    gain = keras.layers.Embedding(
        num_classes, channels, name=f"{name}_gain",
        embeddings_initializer=biggan_embedding_initializer(mean=1.0))(labels)
    bias = keras.layers.Embedding(
        num_classes, channels, name=f"{name}_bias",
        embeddings_initializer=biggan_embedding_initializer())(labels)
    gain = keras.layers.Reshape((1, 1, channels), name=f"{name}_gain_map")(gain)
    bias = keras.layers.Reshape((1, 1, channels), name=f"{name}_bias_map")(bias)
    h = keras.layers.Multiply(name=f"{name}_scale")([h, gain])
    return keras.layers.Add(name=f"{name}_shift")([h, bias])
