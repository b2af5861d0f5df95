"""``dcgan``: a small DCGAN for 8x8, 16x16, 28x28, 32x32 and 64x64 images.

G: Dense -> BN -> ReLU -> (side / 2^n) grid -> n x [ConvTranspose stride 2, BN, ReLU]
-> conv3 -> tanh. D: n strided convs with LeakyReLU(0.2) -> flatten -> Dense -> logit.
Masked layers: G ``g_l1``, ``g_up1``..``g_up<n>``, ``g_out``; D ``d_c1``..``d_c<n>``,
``d_out``.
"""

import gin
import keras

from ddst_tf.layers.activations import LeakyReLU
from ddst_tf.layers.masked import MaskedConv2D, MaskedConv2DTranspose, MaskedDense
from ddst_tf.models import registry
from ddst_tf.models.arguments import require_unconditional, square_image_shape
from ddst_tf.models.initializers import layer_initializers
from ddst_tf.models.network import gan_network
from ddst_tf.models.resnet_blocks import batch_norm, relu

# Image side -> number of stride-2 stages; the generator starts at side / 2^stages.
STAGES_BY_SIZE = {8: 2, 16: 2, 28: 2, 32: 3, 64: 4}
KERNEL_SIZE = 4
_INIT = "dcgan_normal"


def dcgan_generator_network(latent_dim, bottom_width, channels, out_channels,
                            name="generator"):
    """z -> bottom x bottom x channels[0] -> ConvT stages to ``channels[1:]`` -> image."""
    z = keras.Input((latent_dim,), name="z")
    h = MaskedDense(bottom_width ** 2 * channels[0], name="g_l1",
                    **layer_initializers(_INIT, latent_dim))(z)
    h = keras.layers.Reshape((bottom_width, bottom_width, channels[0]), name="g_l1_map")(h)
    h = relu(batch_norm("g_l1_bn")(h), "g_l1_relu")
    for index, (c_in, c_out) in enumerate(zip(channels, channels[1:]), start=1):
        h = MaskedConv2DTranspose(c_out, KERNEL_SIZE, strides=2, padding="same",
                                  name=f"g_up{index}", **layer_initializers(_INIT, c_in))(h)
        h = relu(batch_norm(f"g_up{index}_bn")(h), f"g_up{index}_relu")
    h = MaskedConv2D(out_channels, 3, padding="same", name="g_out",
                     **layer_initializers(_INIT, 9 * channels[-1]))(h)
    images = keras.layers.Activation("tanh", name="g_tanh")(h)
    size = bottom_width * 2 ** (len(channels) - 1)
    return gan_network(z, images, name, (size, size, out_channels), 0, latent_dim)


def dcgan_discriminator_network(image_shape, channels, spectral_norm=False,
                                name="discriminator"):
    """Images -> stride-2 convs to ``channels`` with LeakyReLU(0.2) -> Dense -> logits [B, 1]."""
    images = keras.Input(tuple(image_shape), name="images")
    h = images
    for index, (c_in, c_out) in enumerate(zip([image_shape[-1]] + channels[:-1], channels),
                                          start=1):
        h = MaskedConv2D(c_out, KERNEL_SIZE, strides=2, padding="same",
                         spectral_norm=spectral_norm, name=f"d_c{index}",
                         **layer_initializers(_INIT, KERNEL_SIZE ** 2 * c_in))(h)
        h = LeakyReLU(negative_slope=0.2, name=f"d_c{index}_lrelu")(h)
    h = keras.layers.Flatten(name="d_flatten")(h)
    logits = MaskedDense(1, spectral_norm=spectral_norm, name="d_out",
                         **layer_initializers(_INIT, h.shape[-1]))(h)
    return gan_network(images, logits, name, image_shape, 0)


def _dcgan_image_shape(image_shape):
    return square_image_shape(image_shape, "dcgan", lambda s: s in STAGES_BY_SIZE,
                              f"one of {sorted(STAGES_BY_SIZE)}")


@registry.register("dcgan", "generator")
@gin.configurable
def dcgan_generator(image_shape=gin.REQUIRED, num_classes=0, latent_dim=128, base_width=32):
    """DCGAN G; the last ConvT stage has ``base_width`` channels, each earlier one twice
    as many (32x32: 4x4x256 -> 128 -> 64 -> 32 -> image)."""
    require_unconditional("dcgan", num_classes)
    size, _, channels = _dcgan_image_shape(image_shape)
    stages = STAGES_BY_SIZE[size]
    widths = [base_width * 2 ** (stages - i) for i in range(stages + 1)]
    return dcgan_generator_network(latent_dim, size // 2 ** stages, widths, channels)


@registry.register("dcgan", "discriminator")
@gin.configurable
def dcgan_discriminator(image_shape=gin.REQUIRED, num_classes=0, base_width=64,
                        spectral_norm=False):
    """DCGAN D; conv i has ``base_width * 2^(i-1)`` channels (32x32: 64 -> 128 -> 256)."""
    require_unconditional("dcgan", num_classes)
    shape = _dcgan_image_shape(image_shape)
    stages = STAGES_BY_SIZE[shape[0]]
    return dcgan_discriminator_network(shape, [base_width * 2 ** i for i in range(stages)],
                                       spectral_norm=spectral_norm)
