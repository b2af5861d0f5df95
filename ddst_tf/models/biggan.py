"""``biggan32``: class-conditional BigGAN for CIFAR (ADAPT's ``biggan.32``, ch 64 -> 256).

Follows ``sparselearning/backbones/biggan.py`` (Generator32 / Discriminator32) of
the ADAPT code. G: SN Linear -> 4x4x4ch -> 3 up blocks of 4ch with conditional
batch norm (per-class gain/bias embeddings, no shared embedding) and SN convs
-> BN -> ReLU -> SN conv3 -> tanh. D (SN on every conv and linear, as main.py adds
it): optimized block, a down block and 2 plain blocks of 4ch -> ReLU -> sum pool
-> ``classifier(h) + <embedding(y), h>`` with an SN class embedding. No
self-attention (Generator32/Discriminator32 have none). Weights N(0, 0.02),
biases PyTorch default (``res32_weights_init``).

Reference module -> layer names: ``linear`` -> ``g_l1``; ``blocks.i.residual1.2``,
``residual2.1``, ``shortcut.1`` -> ``g_block{i+2}_c1``, ``_c2``, ``_c_sc``;
``blocks.i.bn1``/``bn2`` -> ``g_block{i+2}_b1_*``/``_b2_*``; ``output_layer.0``/``.2``
-> ``g_b5``/``g_c5``; D ``blocks.i`` -> ``d_block{i+1}``, ``classifier`` ->
``d_classifier`` and ``embedding`` -> ``d_embedding`` (both never masked).
"""

import gin
import keras

from ddst_tf.models import registry
from ddst_tf.models.arguments import require_conditional, resnet_image_shape
from ddst_tf.models.initializers import biggan_embedding_initializer, layer_initializers
from ddst_tf.models.network import gan_network
from ddst_tf.models.resnet import resnet_discriminator_features, resnet_generator
from ddst_tf.layers.spectral_norm import SpectralNormDense, SpectralNormEmbedding

_INIT = "biggan_normal"


@registry.register("biggan32", "generator", conditional=True)
@gin.configurable
def biggan32_generator(image_shape=gin.REQUIRED, num_classes=gin.REQUIRED, latent_dim=128,
                       ch=64, spectral_norm=True):
    """BigGAN-32 G: inputs [z, labels]; every block has 4 * ``ch`` channels."""
    classes = require_conditional("biggan32", num_classes)
    size, _, channels = resnet_image_shape("biggan32", image_shape, 8)
    return resnet_generator(latent_dim, size // 8, [4 * ch] * 4, channels, _INIT,
                            spectral_norm=spectral_norm, num_classes=classes)


@registry.register("biggan32", "discriminator", conditional=True)
@gin.configurable
def biggan32_discriminator(image_shape=gin.REQUIRED, num_classes=gin.REQUIRED, ch=64,
                           spectral_norm=True):
    """BigGAN-32 projection D: inputs [images, labels] -> raw logits [B, 1].

    ``spectral_norm`` covers the masked convs and ``d_classifier``; the class
    embedding always has SN (built into the reference).
    """
    classes = require_conditional("biggan32", num_classes)
    shape = resnet_image_shape("biggan32", image_shape, 8)
    width = 4 * ch
    images = keras.Input(shape, name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    features = resnet_discriminator_features(images, [width] * 4, [True, False, False],
                                             spectral_norm, _INIT)
    classifier = SpectralNormDense if spectral_norm else keras.layers.Dense
    logits = classifier(1, name="d_classifier", **layer_initializers(_INIT, width))(features)
    embedded = SpectralNormEmbedding(
        classes, width, name="d_embedding",
        embeddings_initializer=biggan_embedding_initializer())(labels)
    projection = keras.layers.Dot(axes=1, name="d_projection")([embedded, features])
    outputs = keras.layers.Add(name="d_logits")([logits, projection])
    return gan_network([images, labels], outputs, "discriminator", shape, classes)
