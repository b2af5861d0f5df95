"""Keras 3 layers with kernel masks, and never-masked spectrally normalised layers."""

from ddst_tf.layers.activations import LeakyReLU
from ddst_tf.layers.masked import (MASKED_LAYER_TYPES, MaskedConv2D, MaskedConv2DTranspose,
                                   MaskedDense, effective_kernel_gradients, watch_masks)
from ddst_tf.layers.spectral_norm import SpectralNormDense, SpectralNormEmbedding

__all__ = ["LeakyReLU", "MASKED_LAYER_TYPES", "MaskedConv2D", "MaskedConv2DTranspose", "MaskedDense",
           "SpectralNormDense", "SpectralNormEmbedding", "effective_kernel_gradients",
           "watch_masks"]
