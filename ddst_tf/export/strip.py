"""Strip a sparse model down to plain Keras layers, so it can leave ddst_tf behind.

Every masked layer becomes its Keras counterpart (Dense, Conv2D, Conv2DTranspose)
whose kernel is the inference-time effective kernel: mask * kernel, divided by
sigma when the layer has spectral norm. The never-masked SN Dense/Embedding
layers are folded the same way, ddst_tf's ``LeakyReLU`` becomes Keras'; all other layers
are copied with their weights.
Like tfmot's ``strip_pruning``, this clones the functional graph.
"""

import keras

from ddst_tf.layers.activations import LeakyReLU
from ddst_tf.layers.masked import MaskedConv2D, MaskedConv2DTranspose, MaskedDense
from ddst_tf.layers.spectral_norm import SpectralNormDense, SpectralNormEmbedding

# Layer types with a folded weight -> the plain Keras class that replaces them.
PLAIN_COUNTERPARTS = (
    (MaskedDense, keras.layers.Dense),
    (MaskedConv2D, keras.layers.Conv2D),
    (MaskedConv2DTranspose, keras.layers.Conv2DTranspose),
    (SpectralNormDense, keras.layers.Dense),
    (SpectralNormEmbedding, keras.layers.Embedding),
)
_FOLDING_KEYS = ("spectral_norm", "sn_epsilon")


def strip(model):
    """A functional copy of ``model`` made of plain Keras layers, weights folded and copied.

    ``model`` must be a functional or Sequential Keras model (built from
    ``keras.Input``); its inference output (``training=False``) equals the
    stripped model's output, and pruned kernel entries are exact zeros.
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "outputs"):
        raise TypeError(
            f"strip needs a functional or Sequential Keras model built from keras.Input; "
            f"got {type(model).__name__}, whose graph cannot be cloned layer by layer")
    stripped = keras.models.clone_model(model, clone_function=_plain_layer)
    for layer in model.layers:  # nested models were stripped whole; inputs have no weights
        if layer.weights and not isinstance(layer, keras.Model):
            stripped.get_layer(layer.name).set_weights(_folded_weights(layer))
    return stripped


def _plain_class(layer):
    for folded_type, plain in PLAIN_COUNTERPARTS:
        if isinstance(layer, folded_type):
            return plain
    return None


def _plain_layer(layer):
    """Clone function: nested models are stripped, folded layers become plain ones."""
    if isinstance(layer, keras.Model):
        return strip(layer)
    if isinstance(layer, LeakyReLU):
        return keras.layers.LeakyReLU(negative_slope=layer.negative_slope, name=layer.name)
    plain = _plain_class(layer)
    config = layer.get_config()
    if plain is None:
        return layer.__class__.from_config(config)
    return plain.from_config({k: v for k, v in config.items() if k not in _FOLDING_KEYS})


def _folded_weights(layer):
    """The weights of ``layer``'s stripped counterpart, as NumPy arrays."""
    if isinstance(layer, SpectralNormEmbedding):
        return [keras.ops.convert_to_numpy(layer.effective_embeddings(training=False))]
    if _plain_class(layer) is None:
        return layer.get_weights()
    weights = [keras.ops.convert_to_numpy(layer.effective_kernel(training=False))]
    if layer.use_bias:
        weights.append(keras.ops.convert_to_numpy(layer.bias))
    return weights
