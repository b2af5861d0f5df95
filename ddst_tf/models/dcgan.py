"""``dcgan``: a small DCGAN for 8x8, 16x16, 28x28, 32x32 and 64x64 images.

G: Dense -> BN -> ReLU -> (side / 2^n) grid -> n x [ConvTranspose stride 2, BN, ReLU]
-> conv3 -> tanh. D: n strided convs with LeakyReLU(0.2) -> flatten -> Dense -> logit.
Masked layers: G ``g_l1``, ``g_up1``..``g_up<n>``, ``g_out``; D ``d_c1``..``d_c<n>``,
``d_out``.
"""

import gin
import keras
from keras import ops

from ddst_tf.layers.masked import MaskedConv2D, MaskedConv2DTranspose, MaskedDense
from ddst_tf.models import registry
from ddst_tf.models.arguments import require_unconditional, square_image_shape
from ddst_tf.models.initializers import layer_initializers
from ddst_tf.models.resnet_blocks import batch_norm

# Image side -> number of stride-2 stages; the generator starts at side / 2^stages.
STAGES_BY_SIZE = {8: 2, 16: 2, 28: 2, 32: 3, 64: 4}
KERNEL_SIZE = 4
_INIT = "dcgan_normal"


@keras.saving.register_keras_serializable(package="ddst_tf")
class DCGANGenerator(keras.Model):
    """z -> bottom x bottom x channels[0] -> ConvT stages to ``channels[1:]`` -> image."""

    num_classes = 0  # unconditional: inputs carry no labels

    def __init__(self, latent_dim, bottom_width, channels, out_channels, name="generator",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = int(latent_dim)
        self.bottom_width = int(bottom_width)
        self.channels = [int(c) for c in channels]
        self.out_channels = int(out_channels)
        size = self.bottom_width * 2 ** (len(self.channels) - 1)
        self.image_shape = (size, size, self.out_channels)
        self.l1 = MaskedDense(self.bottom_width ** 2 * self.channels[0], name="g_l1",
                              **layer_initializers(_INIT, self.latent_dim))
        self.l1_bn = batch_norm("g_l1_bn")
        self.ups = [
            MaskedConv2DTranspose(c_out, KERNEL_SIZE, strides=2, padding="same",
                                  name=f"g_up{i}", **layer_initializers(_INIT, c_in))
            for i, (c_in, c_out) in enumerate(zip(self.channels, self.channels[1:]), start=1)]
        self.up_norms = [batch_norm(f"g_up{i}_bn") for i in range(1, len(self.ups) + 1)]
        self.c_out = MaskedConv2D(self.out_channels, 3, padding="same", name="g_out",
                                  **layer_initializers(_INIT, 9 * self.channels[-1]))

    def call(self, z, training=False):
        h = self.l1(z, training=training)
        h = ops.reshape(h, (-1, self.bottom_width, self.bottom_width, self.channels[0]))
        h = ops.relu(self.l1_bn(h, training=training))
        for up, norm in zip(self.ups, self.up_norms):
            h = ops.relu(norm(up(h, training=training), training=training))
        return ops.tanh(self.c_out(h, training=training))

    def get_config(self):
        return {"name": self.name, "latent_dim": self.latent_dim,
                "bottom_width": self.bottom_width, "channels": self.channels,
                "out_channels": self.out_channels}


@keras.saving.register_keras_serializable(package="ddst_tf")
class DCGANDiscriminator(keras.Model):
    """Images -> stride-2 convs to ``channels`` with LeakyReLU(0.2) -> Dense -> logits [B, 1]."""

    num_classes = 0  # unconditional: inputs carry no labels

    def __init__(self, image_shape, channels, spectral_norm=False, name="discriminator",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.channels = [int(c) for c in channels]
        self.spectral_norm = bool(spectral_norm)
        in_channels = [self.image_shape[-1]] + self.channels[:-1]
        self.convs = [
            MaskedConv2D(c_out, KERNEL_SIZE, strides=2, padding="same",
                         spectral_norm=self.spectral_norm, name=f"d_c{i}",
                         **layer_initializers(_INIT, KERNEL_SIZE ** 2 * c_in))
            for i, (c_in, c_out) in enumerate(zip(in_channels, self.channels), start=1)]
        side = self.image_shape[0] // 2 ** len(self.channels)
        self.head = MaskedDense(1, spectral_norm=self.spectral_norm, name="d_out",
                                **layer_initializers(_INIT, side * side * self.channels[-1]))

    def call(self, x, training=False):
        h = x
        for conv in self.convs:
            h = ops.leaky_relu(conv(h, training=training), negative_slope=0.2)
        return self.head(ops.reshape(h, (ops.shape(h)[0], -1)), training=training)

    def get_config(self):
        return {"name": self.name, "image_shape": self.image_shape,
                "channels": self.channels, "spectral_norm": self.spectral_norm}


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
    return DCGANGenerator(latent_dim, size // 2 ** stages, widths, channels)


@registry.register("dcgan", "discriminator")
@gin.configurable
def dcgan_discriminator(image_shape=gin.REQUIRED, num_classes=0, base_width=64,
                        spectral_norm=False):
    """DCGAN D; conv i has ``base_width * 2^(i-1)`` channels (32x32: 64 -> 128 -> 256)."""
    require_unconditional("dcgan", num_classes)
    shape = _dcgan_image_shape(image_shape)
    stages = STAGES_BY_SIZE[shape[0]]
    return DCGANDiscriminator(shape, [base_width * 2 ** i for i in range(stages)],
                              spectral_norm=spectral_norm)
