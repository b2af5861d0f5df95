"""SNGAN-style ResNet GANs: ``sngan32`` (GAN-LTH lottery SNGAN) and ``sngan48`` (resnet.48).

Masked layer names follow the PyTorch reference module names with '.' -> '_' and
a ``g_``/``d_`` prefix (G: ``g_l1``, ``g_block2_c1`` ... ``g_block4_c_sc``, ``g_c5``;
D: ``d_block1_c1`` ... ``d_l5``), so the spec's per-layer tables read directly.
"""

import gin
import keras
from keras import ops

from ddst_tf.layers.masked import MaskedDense
from ddst_tf.models import registry
from ddst_tf.models.arguments import require_unconditional, square_image_shape
from ddst_tf.models.initializers import layer_initializers
from ddst_tf.models.resnet_blocks import (
    DisResBlock, GenResBlock, OptimizedDisBlock, batch_norm, masked_conv)


@keras.saving.register_keras_serializable(package="ddst_tf")
class ResNetGenerator(keras.Model):
    """z -> Dense -> bottom x bottom x channels[0] -> up-sampling residual blocks
    (``channels[1:]``) -> BN -> ReLU -> conv3 -> tanh; images NHWC in [-1, 1]."""

    num_classes = 0  # unconditional: inputs carry no labels

    def __init__(self, latent_dim, bottom_width, channels, out_channels,
                 weight_init="torch_default", name="generator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = int(latent_dim)
        self.bottom_width = int(bottom_width)
        self.channels = [int(c) for c in channels]
        self.out_channels = int(out_channels)
        self.weight_init = weight_init
        size = self.bottom_width * 2 ** (len(self.channels) - 1)
        self.image_shape = (size, size, self.out_channels)
        self.l1 = MaskedDense(self.bottom_width ** 2 * self.channels[0], name="g_l1",
                              **layer_initializers(weight_init, self.latent_dim))
        self.blocks = [
            GenResBlock(c_in, c_out, weight_init, name=f"g_block{i}")
            for i, (c_in, c_out) in enumerate(zip(self.channels, self.channels[1:]), start=2)]
        last = len(self.blocks) + 2
        self.b_out = batch_norm(f"g_b{last}")
        self.c_out = masked_conv(f"g_c{last}", self.channels[-1], self.out_channels, 3,
                                 weight_init)

    def call(self, z, training=False):
        h = self.l1(z, training=training)
        h = ops.reshape(h, (-1, self.bottom_width, self.bottom_width, self.channels[0]))
        for block in self.blocks:
            h = block(h, training=training)
        h = ops.relu(self.b_out(h, training=training))
        return ops.tanh(self.c_out(h, training=training))

    def get_config(self):
        return {"name": self.name, "latent_dim": self.latent_dim,
                "bottom_width": self.bottom_width, "channels": self.channels,
                "out_channels": self.out_channels, "weight_init": self.weight_init}


@keras.saving.register_keras_serializable(package="ddst_tf")
class ResNetDiscriminator(keras.Model):
    """Images -> optimized block -> residual blocks -> ReLU -> global sum pool -> Dense.

    ``channels[i]``/``downsample[i]`` describe block i+2 (block 1 is the optimized
    block with ``channels[0]`` outputs and always downsamples). Output: raw logits
    [B, 1]. Every conv and the head carry spectral norm when ``spectral_norm``.
    """

    num_classes = 0  # unconditional: inputs carry no labels

    def __init__(self, image_shape, channels, downsample, head_bias=False,
                 spectral_norm=True, weight_init="torch_default", name="discriminator",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if len(downsample) != len(channels) - 1:
            raise ValueError(
                f"downsample needs one flag per block after the first: "
                f"{len(channels) - 1} for channels {list(channels)}; got {list(downsample)}")
        self.image_shape = tuple(int(v) for v in image_shape)
        self.channels = [int(c) for c in channels]
        self.downsample = [bool(d) for d in downsample]
        self.head_bias = bool(head_bias)
        self.spectral_norm = bool(spectral_norm)
        self.weight_init = weight_init
        self.blocks = [OptimizedDisBlock(self.image_shape[-1], self.channels[0],
                                         self.spectral_norm, weight_init, name="d_block1")]
        self.blocks += [
            DisResBlock(c_in, c_out, down, self.spectral_norm, weight_init, name=f"d_block{i}")
            for i, (c_in, c_out, down) in enumerate(
                zip(self.channels, self.channels[1:], self.downsample), start=2)]
        self.head = MaskedDense(1, use_bias=self.head_bias, spectral_norm=self.spectral_norm,
                                name=f"d_l{len(self.blocks) + 1}",
                                **layer_initializers(weight_init, self.channels[-1]))

    def call(self, x, training=False):
        h = x
        for block in self.blocks:
            h = block(h, training=training)
        h = ops.sum(ops.relu(h), axis=(1, 2))
        return self.head(h, training=training)

    def get_config(self):
        return {"name": self.name, "image_shape": self.image_shape,
                "channels": self.channels, "downsample": self.downsample,
                "head_bias": self.head_bias, "spectral_norm": self.spectral_norm,
                "weight_init": self.weight_init}


def _sngan_image_shape(model, image_shape, min_size):
    return square_image_shape(
        image_shape, model, lambda s: s % 8 == 0 and s >= min_size,
        f"a multiple of 8 and at least {min_size} (G upsamples 3 times from side/8)")


@registry.register("sngan32", "generator")
@gin.configurable
def sngan32_generator(image_shape=gin.REQUIRED, num_classes=0, latent_dim=128, gf_dim=256):
    """GAN-LTH lottery SNGAN G: l1 -> 4x4 (side/8) x gf_dim, 3 up blocks of gf_dim, c5."""
    require_unconditional("sngan32", num_classes)
    size, _, channels = _sngan_image_shape("sngan32", image_shape, 8)
    return ResNetGenerator(latent_dim, size // 8, [gf_dim] * 4, channels, "torch_default")


@registry.register("sngan32", "discriminator")
@gin.configurable
def sngan32_discriminator(image_shape=gin.REQUIRED, num_classes=0, df_dim=128,
                          spectral_norm=True):
    """GAN-LTH lottery SNGAN D: optimized block, down block, 2 plain blocks, l5 (no bias)."""
    require_unconditional("sngan32", num_classes)
    shape = _sngan_image_shape("sngan32", image_shape, 8)
    return ResNetDiscriminator(shape, [df_dim] * 4, [True, False, False], head_bias=False,
                               spectral_norm=spectral_norm, weight_init="torch_default")


@registry.register("sngan48", "generator")
@gin.configurable
def sngan48_generator(image_shape=gin.REQUIRED, num_classes=0, latent_dim=128, gf_dim=512):
    """ADAPT resnet.48 G: l1 -> 6x6 (side/8) x gf_dim, 3 up blocks halving channels, c5."""
    require_unconditional("sngan48", num_classes)
    size, _, channels = _sngan_image_shape("sngan48", image_shape, 32)
    if gf_dim % 8:
        raise ValueError(f"sngan48: gf_dim is halved 3 times, so it must be a multiple "
                         f"of 8; got {gf_dim!r}")
    widths = [gf_dim // 2 ** i for i in range(4)]
    return ResNetGenerator(latent_dim, size // 8, widths, channels, "kaiming_normal")


@registry.register("sngan48", "discriminator")
@gin.configurable
def sngan48_discriminator(image_shape=gin.REQUIRED, num_classes=0, df_dim=64,
                          spectral_norm=True):
    """ADAPT resnet.48 D: optimized block, 4 down blocks doubling channels, l6 (bias).

    48 -> 24 -> 12 -> 6 -> 3 -> 1 (the last 2x2 pool floors 3 to 1, as in the
    reference), so its global mean pool equals our sum pool.
    """
    require_unconditional("sngan48", num_classes)
    shape = _sngan_image_shape("sngan48", image_shape, 32)
    widths = [df_dim * 2 ** i for i in range(5)]
    return ResNetDiscriminator(shape, widths, [True] * 4, head_bias=True,
                               spectral_norm=spectral_norm, weight_init="kaiming_normal")
