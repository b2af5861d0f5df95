"""A sparse view of a Keras model: its masked layers, densities and non-zero counts."""

import numpy as np
import tensorflow as tf

from ddst_tf.layers.masked import MASKED_LAYER_TYPES


def masked_layers(model):
    """The model's masked layers in a stable (depth-first, creation) order."""
    if isinstance(model, MASKED_LAYER_TYPES):
        return [model]
    seen, found = set(), []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, MASKED_LAYER_TYPES) and id(layer) not in seen:
            seen.add(id(layer))
            found.append(layer)
    names = [layer.name for layer in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"Masked layers must have unique names (per-layer densities and "
            f"overrides are keyed by name); duplicated: {duplicated}")
    return found


def layer_sizes(layers):
    """Number of maskable weights per layer."""
    return [int(np.prod(layer.mask.shape)) for layer in layers]


def layer_nnz(layers):
    """Non-zero mask entries per layer, as a list of scalar int tensors."""
    return [tf.cast(tf.math.count_nonzero(layer.mask), tf.int64) for layer in layers]


def total_nnz(layers):
    """Non-zero mask entries over all layers (scalar int64 tensor)."""
    return tf.add_n(layer_nnz(layers))


def global_density(layers):
    """Fraction of maskable weights that are active, over all layers."""
    return tf.cast(total_nnz(layers), tf.float64) / float(sum(layer_sizes(layers)))


def layer_densities(layers):
    """{layer name: density} as Python floats (reads the variables eagerly)."""
    return {
        layer.name: float(nnz) / size
        for layer, nnz, size in zip(layers, layer_nnz(layers), layer_sizes(layers))
    }


def get_masks(layers):
    """Current masks as NumPy arrays keyed by layer name."""
    return {layer.name: np.asarray(layer.mask.numpy()) for layer in layers}


def set_masks(layers, masks):
    """Assign masks (by layer name or in layer order) and zero the pruned weights."""
    if not isinstance(masks, dict):
        masks = {layer.name: m for layer, m in zip(layers, masks, strict=True)}
    for layer in layers:
        if layer.name not in masks:
            continue
        value = np.asarray(masks[layer.name], dtype=np.float32)
        if value.shape != tuple(layer.mask.shape):
            raise ValueError(
                f"Mask for layer {layer.name!r} has shape {value.shape}; the layer's "
                f"kernel has shape {tuple(layer.mask.shape)}")
        if not np.all((value == 0) | (value == 1)):
            raise ValueError(f"Mask for layer {layer.name!r} is not binary (0/1)")
        layer.mask.assign(value)
        layer.apply_mask()
