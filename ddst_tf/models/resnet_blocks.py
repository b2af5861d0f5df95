"""Residual blocks of the SNGAN-style ResNet generator and discriminator.

Every masked layer is named ``<block name>_<reference module name>`` (``c1``, ``c2``,
``c_sc``; batch norms ``b1``, ``b2``) so per-layer densities can be keyed by name
and read against the PyTorch reference (GAN-LTH / ADAPT) module names.
"""

import keras
from keras import ops

from ddst_tf.layers.masked import MaskedConv2D
from ddst_tf.models.initializers import layer_initializers


def upsample_nearest(x):
    """2x nearest-neighbour upsampling of an NHWC tensor."""
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


def downsample_average(x):
    """2x2 average pooling, stride 2 (odd sizes are floored, as nn.AvgPool2d(2))."""
    return ops.average_pool(x, pool_size=2, strides=2, padding="valid")


def batch_norm(name):
    """BatchNorm with PyTorch's defaults (momentum 0.1, eps 1e-5); never masked."""
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def masked_conv(name, in_channels, filters, kernel_size, weight_init, spectral_norm=False):
    """Masked stride-1 'same' convolution initialised with ``weight_init``."""
    return MaskedConv2D(
        filters, kernel_size, padding="same", spectral_norm=spectral_norm, name=name,
        **layer_initializers(weight_init, in_channels * kernel_size * kernel_size))


class _ResBlock(keras.layers.Layer):
    """Shared config of the residual blocks: channel counts and init scheme."""

    def __init__(self, in_channels, out_channels, weight_init, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.weight_init = weight_init

    def _conv(self, suffix, in_channels, kernel_size, spectral_norm=False):
        return masked_conv(f"{self.name}_{suffix}", in_channels, self.out_channels,
                           kernel_size, self.weight_init, spectral_norm)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels,
                "out_channels": self.out_channels, "weight_init": self.weight_init}


@keras.saving.register_keras_serializable(package="ddst_tf")
class GenResBlock(_ResBlock):
    """Up-sampling generator block: BN-ReLU-up-conv3-BN-ReLU-conv3 + up-conv1 shortcut."""

    def __init__(self, in_channels, out_channels, weight_init="torch_default", **kwargs):
        super().__init__(in_channels, out_channels, weight_init, **kwargs)
        self.b1 = batch_norm(f"{self.name}_b1")
        self.c1 = self._conv("c1", self.in_channels, 3)
        self.b2 = batch_norm(f"{self.name}_b2")
        self.c2 = self._conv("c2", self.out_channels, 3)
        self.c_sc = self._conv("c_sc", self.in_channels, 1)

    def call(self, x, training=False):
        h = ops.relu(self.b1(x, training=training))
        h = self.c1(upsample_nearest(h), training=training)
        h = ops.relu(self.b2(h, training=training))
        h = self.c2(h, training=training)
        return h + self.c_sc(upsample_nearest(x), training=training)


@keras.saving.register_keras_serializable(package="ddst_tf")
class OptimizedDisBlock(_ResBlock):
    """First discriminator block: conv3-ReLU-conv3-avgpool + avgpool-conv1 shortcut."""

    def __init__(self, in_channels, out_channels, spectral_norm=True,
                 weight_init="torch_default", **kwargs):
        super().__init__(in_channels, out_channels, weight_init, **kwargs)
        self.spectral_norm = bool(spectral_norm)
        self.c1 = self._conv("c1", self.in_channels, 3, self.spectral_norm)
        self.c2 = self._conv("c2", self.out_channels, 3, self.spectral_norm)
        self.c_sc = self._conv("c_sc", self.in_channels, 1, self.spectral_norm)

    def call(self, x, training=False):
        h = ops.relu(self.c1(x, training=training))
        h = downsample_average(self.c2(h, training=training))
        return h + self.c_sc(downsample_average(x), training=training)

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


@keras.saving.register_keras_serializable(package="ddst_tf")
class DisResBlock(_ResBlock):
    """Discriminator block: ReLU-conv3-ReLU-conv3(-avgpool) + shortcut.

    The shortcut is a learnable conv1 (then avgpool) when the block downsamples
    or changes the channel count, the identity otherwise.
    """

    def __init__(self, in_channels, out_channels, downsample, spectral_norm=True,
                 weight_init="torch_default", **kwargs):
        super().__init__(in_channels, out_channels, weight_init, **kwargs)
        self.downsample = bool(downsample)
        self.spectral_norm = bool(spectral_norm)
        self.c1 = self._conv("c1", self.in_channels, 3, self.spectral_norm)
        self.c2 = self._conv("c2", self.out_channels, 3, self.spectral_norm)
        self.learnable_shortcut = self.downsample or self.in_channels != self.out_channels
        if self.learnable_shortcut:
            self.c_sc = self._conv("c_sc", self.in_channels, 1, self.spectral_norm)

    def call(self, x, training=False):
        h = self.c1(ops.relu(x), training=training)
        h = self.c2(ops.relu(h), training=training)
        shortcut = self.c_sc(x, training=training) if self.learnable_shortcut else x
        if self.downsample:
            h, shortcut = downsample_average(h), downsample_average(shortcut)
        return h + shortcut

    def get_config(self):
        return {**super().get_config(), "downsample": self.downsample,
                "spectral_norm": self.spectral_norm}
