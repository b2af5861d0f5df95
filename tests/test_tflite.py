"""Tests of ddst_tf.export.tflite: conversion of stripped generators, sparse encoding, outputs."""

import keras
import numpy as np
import pytest

from ddst_tf.export import tflite
from ddst_tf.export.strip import strip
from ddst_tf.models import registry
from ddst_tf.sparse import view

# TFLite (XNNPACK) and TF (oneDNN) kernels differ in summation order only.
TOLERANCE = 1e-5
NUM_CLASSES = 3


def stripped_generator(name, density, seed=0, **widths):
    classes = NUM_CLASSES if registry.is_conditional(name) else 0
    generator = registry.build_generator(name, image_shape=(16, 16, 3), num_classes=classes,
                                         **widths)
    rng = np.random.default_rng(seed)
    layers = view.masked_layers(generator)
    view.set_masks(layers, [(rng.random(layer.mask.shape) < density).astype(np.float32)
                            for layer in layers])
    z = rng.normal(size=(2, generator.latent_dim)).astype(np.float32)
    generator([z, np.zeros(2, np.int32)] if classes else z, training=True)  # move BN stats
    return strip(generator), generator.latent_dim, classes


@pytest.fixture(scope="module")
def sngan():
    """A tiny sparse sngan32 G (nearest-upsampling ResNet) converted both ways."""
    model, latent_dim, _ = stripped_generator("sngan32", density=0.1, gf_dim=16)
    return (model, latent_dim, tflite.convert_generator(model, latent_dim, sparsity=False),
            tflite.convert_generator(model, latent_dim, sparsity=True))


def latents(latent_dim, batch, seed=3):
    return np.random.default_rng(seed).normal(size=(batch, latent_dim)).astype(np.float32)


def test_tflite_graph_swaps_upsampling_for_an_identical_resize():
    model, latent_dim, _ = stripped_generator("sngan32", density=0.5, gf_dim=8)
    graph = tflite.tflite_graph(model)
    graph.set_weights(model.get_weights())
    kinds = {type(layer) for layer in graph.layers}
    assert keras.layers.Resizing in kinds and keras.layers.UpSampling2D not in kinds
    z = latents(latent_dim, 3)
    np.testing.assert_array_equal(graph(z).numpy(), model(z).numpy())


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("sparse", [False, True])
def test_interpreter_matches_keras_at_any_batch(sngan, sparse, batch):
    model, latent_dim, dense_content, sparse_content = sngan
    z = latents(latent_dim, batch)
    images = tflite.run_tflite(sparse_content if sparse else dense_content, z)
    assert images.shape == (batch, 16, 16, 3)
    np.testing.assert_allclose(images, model(z).numpy(), atol=TOLERANCE)


def test_sparsity_encodes_the_masked_kernels_and_shrinks_the_file(sngan):
    _, _, dense_content, sparse_content = sngan
    assert tflite.sparse_tensor_names(dense_content) == []
    # sngan32 G: g_l1, 3 blocks x (c1, c2, c_sc), g_c5 = 11 kernels at density ~0.1.
    assert len(tflite.sparse_tensor_names(sparse_content)) == 11
    assert len(sparse_content) < 0.35 * len(dense_content)


def test_dense_masks_gain_nothing_from_sparsity():
    model, latent_dim, _ = stripped_generator("sngan32", density=1.0, gf_dim=16)
    dense_content = tflite.convert_generator(model, latent_dim, sparsity=False)
    sparse_content = tflite.convert_generator(model, latent_dim, sparsity=True)
    assert tflite.sparse_tensor_names(sparse_content) == []
    assert abs(len(sparse_content) - len(dense_content)) < 0.01 * len(dense_content)


def test_conditional_generator_takes_class_labels():
    model, latent_dim, classes = stripped_generator("biggan32", density=0.2, ch=2)
    content = tflite.convert_generator(model, latent_dim, classes)
    z = latents(latent_dim, 4)
    labels = np.array([0, 2, 1, 2], np.int32)
    images = tflite.run_tflite(content, z, labels)
    np.testing.assert_allclose(images, model([z, labels]).numpy(), atol=TOLERANCE)
    other = tflite.run_tflite(content, z, np.array([1, 0, 2, 0], np.int32))
    assert np.max(np.abs(other - images)) > 10 * TOLERANCE  # labels change the images
    with pytest.raises(ValueError, match="inputs.*labels.*got \\['z'\\]"):
        tflite.run_tflite(content, z)


def test_other_upsampling_is_rejected():
    x = keras.Input((4, 4, 2))
    model = keras.Model(x, keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(x))
    with pytest.raises(ValueError, match="'up'.*'bilinear'.*'nearest'"):
        tflite.tflite_graph(model)
