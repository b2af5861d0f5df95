"""ResNet GAN networks (SNGAN/BigGAN style) as functional Keras models.

G: z -> Dense ``g_l1`` -> bottom x bottom x channels[0] -> up-sampling residual
blocks ``g_block2``.. -> BN ``g_b<k>`` -> ReLU -> conv3 ``g_c<k>`` -> tanh, images NHWC
in [-1, 1]; with ``num_classes`` it also takes int labels and its blocks use
conditional batch norm. D: optimized block ``d_block1`` -> residual blocks -> ReLU
-> sum over H, W -> a head (``resnet_discriminator`` adds a masked Dense).
"""

import functools

import keras
from keras import ops

from ddst_tf.layers.masked import MaskedDense
from ddst_tf.models.conditional_batch_norm import conditional_batch_norm
from ddst_tf.models.initializers import layer_initializers
from ddst_tf.models.network import gan_network
from ddst_tf.models.resnet_blocks import (
    batch_norm, dis_res_block, gen_res_block, masked_conv, optimized_dis_block, relu)


def resnet_generator(latent_dim, bottom_width, channels, out_channels, weight_init,
                     spectral_norm=False, num_classes=0, name="generator"):
    """G: ``channels[0]`` at the bottom, then one up block per entry of ``channels[1:]``.

    Inputs: z [B, latent_dim], or [z, labels [B] int] when ``num_classes`` > 0.
    """
    z = keras.Input((latent_dim,), name="z")
    inputs, norm = z, None
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [z, labels]
        norm = functools.partial(_conditional_norm, labels=labels, num_classes=num_classes)
    h = MaskedDense(bottom_width ** 2 * channels[0], spectral_norm=spectral_norm, name="g_l1",
                    **layer_initializers(weight_init, latent_dim))(z)
    h = keras.layers.Reshape((bottom_width, bottom_width, channels[0]), name="g_l1_map")(h)
    for index, width in enumerate(channels[1:], start=2):
        h = gen_res_block(h, width, f"g_block{index}", weight_init, spectral_norm, norm)
    last = len(channels) + 1
    h = relu(batch_norm(f"g_b{last}")(h), f"g_relu{last}")
    h = masked_conv(f"g_c{last}", channels[-1], out_channels, 3, weight_init, spectral_norm)(h)
    images = keras.layers.Activation("tanh", name="g_tanh")(h)
    size = bottom_width * 2 ** (len(channels) - 1)
    return gan_network(inputs, images, name, (size, size, out_channels), num_classes,
                       latent_dim)


def _conditional_norm(x, name, labels, num_classes):
    return conditional_batch_norm(x, labels, num_classes, name)


def resnet_discriminator_features(images, channels, downsample, spectral_norm, weight_init):
    """Blocks ``d_block1``.. -> ReLU -> sum over H, W: features [B, channels[-1]].

    ``channels[i]``/``downsample[i]`` describe block i+2 (block 1 is the optimized
    block with ``channels[0]`` outputs and always downsamples).
    """
    if len(downsample) != len(channels) - 1:
        raise ValueError(
            f"downsample needs one flag per block after the first: "
            f"{len(channels) - 1} for channels {list(channels)}; got {list(downsample)}")
    h = optimized_dis_block(images, channels[0], "d_block1", weight_init, spectral_norm)
    for index, (width, down) in enumerate(zip(channels[1:], downsample), start=2):
        h = dis_res_block(h, width, down, f"d_block{index}", weight_init, spectral_norm)
    return ops.sum(relu(h, "d_relu"), axis=(1, 2))


def resnet_discriminator(image_shape, channels, downsample, head_bias=False,
                         spectral_norm=True, weight_init="torch_default", name="discriminator"):
    """Unconditional D: features -> masked Dense ``d_l<n+1>`` -> raw logits [B, 1]."""
    images = keras.Input(tuple(image_shape), name="images")
    features = resnet_discriminator_features(images, channels, downsample, spectral_norm,
                                             weight_init)
    logits = MaskedDense(1, use_bias=head_bias, spectral_norm=spectral_norm,
                         name=f"d_l{len(channels) + 1}",
                         **layer_initializers(weight_init, channels[-1]))(features)
    return gan_network(images, logits, name, image_shape, 0)
