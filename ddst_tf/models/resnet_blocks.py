"""Residual blocks of the SNGAN/BigGAN-style ResNet GANs, as functions on symbolic tensors.

Each block adds named layers to a functional graph. Masked convolutions are
named ``<block name>_<reference module name>`` (``c1``, ``c2``, ``c_sc``; norms
``b1``, ``b2``) so per-layer densities can be keyed by name and read against the
PyTorch reference (GAN-LTH / ADAPT) module names.
"""

import keras

from ddst_tf.layers.masked import MaskedConv2D
from ddst_tf.models.initializers import layer_initializers


def batch_norm(name):
    """BatchNorm with PyTorch's defaults (momentum 0.1, eps 1e-5); never masked.

    Statistics are synchronized over replicas, so a batch split over N devices is
    normalised as the global batch (the same as under the default strategy).
    """
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True,
                                           name=name)


def masked_conv(name, in_channels, filters, kernel_size, weight_init, spectral_norm=False):
    """Masked stride-1 'same' convolution initialised with ``weight_init``."""
    return MaskedConv2D(
        filters, kernel_size, padding="same", spectral_norm=spectral_norm, name=name,
        **layer_initializers(weight_init, in_channels * kernel_size * kernel_size))


def relu(x, name):
    """ReLU as a named layer."""
    return keras.layers.ReLU(name=name)(x)


def upsample_nearest(x, name):
    """2x nearest-neighbour upsampling of an NHWC tensor."""
    return keras.layers.UpSampling2D(2, interpolation="nearest", name=name)(x)


def downsample_average(x, name):
    """2x2 average pooling, stride 2 (odd sizes are floored, as nn.AvgPool2d(2))."""
    return keras.layers.AveragePooling2D(2, name=name)(x)


def _batch_norm_fn(x, name):
    return batch_norm(name)(x)


def _block_conv(name, out_channels, weight_init, spectral_norm):
    """``conv(suffix, in_channels, kernel_size)``: the block's masked conv ``<name>_<suffix>``."""

    def conv(suffix, in_channels, kernel_size):
        return masked_conv(f"{name}_{suffix}", in_channels, out_channels, kernel_size,
                           weight_init, spectral_norm)

    return conv


def gen_res_block(x, out_channels, name, weight_init, spectral_norm=False, norm=None):
    """Up-sampling G block: norm-ReLU-up-conv3-norm-ReLU-conv3 + up-conv1 shortcut.

    ``norm(h, name)`` normalises ``h`` with layers named ``name`` (default: BatchNorm;
    BigGAN passes its conditional batch norm).
    """
    norm = norm or _batch_norm_fn
    in_channels = x.shape[-1]
    conv = _block_conv(name, out_channels, weight_init, spectral_norm)
    h = relu(norm(x, f"{name}_b1"), f"{name}_relu1")
    h = conv("c1", in_channels, 3)(upsample_nearest(h, f"{name}_up"))
    h = relu(norm(h, f"{name}_b2"), f"{name}_relu2")
    h = conv("c2", out_channels, 3)(h)
    shortcut = conv("c_sc", in_channels, 1)(upsample_nearest(x, f"{name}_up_sc"))
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def optimized_dis_block(x, out_channels, name, weight_init, spectral_norm=True):
    """First D block: conv3-ReLU-conv3-avgpool + avgpool-conv1 shortcut."""
    in_channels = x.shape[-1]
    conv = _block_conv(name, out_channels, weight_init, spectral_norm)
    h = relu(conv("c1", in_channels, 3)(x), f"{name}_relu1")
    h = downsample_average(conv("c2", out_channels, 3)(h), f"{name}_down")
    shortcut = conv("c_sc", in_channels, 1)(downsample_average(x, f"{name}_down_sc"))
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def dis_res_block(x, out_channels, downsample, name, weight_init, spectral_norm=True):
    """D block: ReLU-conv3-ReLU-conv3(-avgpool) + shortcut.

    The shortcut is a learnable conv1 (then avgpool) when the block downsamples
    or changes the channel count, the identity otherwise.
    """
    in_channels = x.shape[-1]
    conv = _block_conv(name, out_channels, weight_init, spectral_norm)
    h = conv("c1", in_channels, 3)(relu(x, f"{name}_relu1"))
    h = conv("c2", out_channels, 3)(relu(h, f"{name}_relu2"))
    shortcut = x
    if downsample or in_channels != out_channels:
        shortcut = conv("c_sc", in_channels, 1)(x)
    if downsample:
        h = downsample_average(h, f"{name}_down")
        shortcut = downsample_average(shortcut, f"{name}_down_sc")
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])
