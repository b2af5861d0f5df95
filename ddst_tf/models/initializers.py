"""Weight initialisation schemes of the reference (PyTorch) GAN code bases, in Keras.

A scheme name travels in model configs so a rebuilt model starts the same way;
``layer_initializers(scheme, fan_in)`` returns the kernel and bias initialisers of
one Dense/Conv layer whose kernel has ``fan_in`` inputs per output unit.
"""

import math

import keras

SCHEMES = ("torch_default", "kaiming_normal", "dcgan_normal", "biggan_normal")


def layer_initializers(scheme, fan_in):
    """``{"kernel_initializer": ..., "bias_initializer": ...}`` for one layer.

    - ``torch_default``: PyTorch's nn.Linear/nn.Conv2d default (kernel and bias
      uniform in +-1/sqrt(fan_in)); GAN-LTH's lottery SNGAN leaves it in place.
    - ``kaiming_normal``: N(0, 2/fan_in) kernel, zero bias (ADAPT's resnet.48).
    - ``dcgan_normal``: N(0, 0.02^2) kernel, zero bias (DCGAN paper).
    - ``biggan_normal``: N(0, 0.02^2) kernel, PyTorch-default bias (ADAPT's
      biggan.32 ``res32_weights_init`` re-draws weights only).
    """
    if scheme == "torch_default":
        bound = 1.0 / math.sqrt(fan_in)
        return {
            "kernel_initializer": keras.initializers.VarianceScaling(
                scale=1.0 / 3.0, mode="fan_in", distribution="uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
        }
    if scheme == "kaiming_normal":
        return {
            "kernel_initializer": keras.initializers.VarianceScaling(
                scale=2.0, mode="fan_in", distribution="untruncated_normal"),
            "bias_initializer": "zeros",
        }
    if scheme == "biggan_normal":
        bound = 1.0 / math.sqrt(fan_in)
        return {
            "kernel_initializer": keras.initializers.RandomNormal(stddev=0.02),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
        }
    if scheme == "dcgan_normal":
        return {
            "kernel_initializer": keras.initializers.RandomNormal(stddev=0.02),
            "bias_initializer": "zeros",
        }
    raise ValueError(f"Unknown weight_init {scheme!r}; known schemes: {list(SCHEMES)}")


def biggan_embedding_initializer(mean=0.0):
    """N(mean, 0.02^2): ``res32_weights_init``'s draw for BigGAN-32's nn.Embedding tables."""
    return keras.initializers.RandomNormal(mean=mean, stddev=0.02)
