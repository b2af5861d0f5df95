"""Tests of ddst_tf.export.keras_file: .keras files of masked models and stripped generators."""


import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.export import keras_file
from ddst_tf.runs import load_ema_generator
from ddst_tf.layers.masked import MASKED_LAYER_TYPES
from ddst_tf.models import registry
from ddst_tf.sparse import view
from tiny_models import NUM_CLASSES, TINY, sparse_network

def model_inputs(model, batch=3, seed=1):
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(batch, *model.inputs[0].shape[1:])).astype(np.float32)
    if len(model.inputs) == 1:
        return first
    return [first, rng.integers(0, NUM_CLASSES, batch).astype(np.int32)]


def assert_same_sparse_model(original, loaded):
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in original.layers]
    assert [w.path for w in loaded.weights] == [w.path for w in original.weights]
    for a, b in zip(original.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    original_masks = view.get_masks(view.masked_layers(original))
    loaded_masks = view.get_masks(view.masked_layers(loaded))
    assert original_masks.keys() == loaded_masks.keys() and original_masks
    for name, mask in original_masks.items():
        np.testing.assert_array_equal(loaded_masks[name], mask)


@pytest.mark.parametrize("role", ["generator", "discriminator"])
@pytest.mark.parametrize("name", sorted(TINY))
def test_masked_registry_models_round_trip_with_masks(name, role, tmp_path):
    assert set(TINY) == set(registry.known_models())
    model = sparse_network(name, role)
    path = tmp_path / f"{name}_{role}.keras"
    keras_file.save_sparse_model(model, path)
    loaded = keras_file.load_sparse_model(path)
    assert_same_sparse_model(model, loaded)
    assert any(layer.spectral_norm for layer in view.masked_layers(loaded)) == \
        any(layer.spectral_norm for layer in view.masked_layers(model))
    x = model_inputs(model)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


def test_loaded_model_keeps_pruned_weights_at_zero_when_trained(tmp_path):
    path = tmp_path / "g.keras"
    keras_file.save_sparse_model(sparse_network("dcgan", "generator", density=0.2), path)
    loaded = keras_file.load_sparse_model(path)
    layers = view.masked_layers(loaded)
    before = [np.array(layer.kernel_variable) for layer in layers]
    optimizer = keras.optimizers.Adam(0.1)
    z = model_inputs(loaded, batch=4)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(loaded(z, training=True)))
    optimizer.apply(tape.gradient(loss, loaded.trainable_variables), loaded.trainable_variables)
    for layer, old in zip(layers, before):
        kernel, mask = np.array(layer.kernel_variable), np.array(layer.mask)
        assert np.all(kernel[mask == 0] == 0), layer.name
        assert not np.allclose(kernel[mask == 1], old[mask == 1]), layer.name


@pytest.fixture(scope="module")
def trained_g_ema(digits_run):
    model_dir = str(digits_run[0])
    gin.clear_config()
    generator, _, _ = load_ema_generator(model_dir)
    gin.clear_config()
    return generator


@pytest.mark.integration
def test_trained_ema_generator_round_trips_with_its_sparse_masks(trained_g_ema, tmp_path):
    densities = view.layer_densities(view.masked_layers(trained_g_ema))
    assert min(densities.values()) < 0.9  # ERK at d=0.5 leaves some layers well below 1
    path = tmp_path / "g_ema.keras"
    keras_file.save_sparse_model(trained_g_ema, path)
    loaded = keras_file.load_sparse_model(path)
    assert_same_sparse_model(trained_g_ema, loaded)
    z = model_inputs(trained_g_ema, batch=5)
    np.testing.assert_allclose(loaded(z, training=False), trained_g_ema(z, training=False),
                               atol=1e-6)


@pytest.mark.integration
def test_export_keras_writes_the_stripped_generator(trained_g_ema, tmp_path):
    path = tmp_path / "g_plain.keras"
    keras_file.export_keras(trained_g_ema, path)
    loaded = keras.saving.load_model(path)
    assert view.masked_layers(loaded) == []
    assert not any(isinstance(layer, MASKED_LAYER_TYPES) for layer in loaded.layers)
    assert not any("mask" in w.path for w in loaded.weights)
    z = model_inputs(trained_g_ema, batch=5)
    np.testing.assert_allclose(loaded(z, training=False), trained_g_ema(z, training=False),
                               atol=1e-5)
    masks = view.get_masks(view.masked_layers(trained_g_ema))
    for name, mask in masks.items():
        np.testing.assert_array_equal(loaded.get_layer(name).kernel.numpy() == 0, mask == 0)


@pytest.mark.parametrize("function", [keras_file.save_sparse_model, keras_file.export_keras])
def test_paths_without_the_keras_suffix_are_rejected(function, tmp_path):
    with pytest.raises(ValueError, match=r"end in '\.keras'.*g\.h5"):
        function(sparse_network("dcgan", "generator"), str(tmp_path / "g.h5"))
    with pytest.raises(ValueError, match=r"end in '\.keras'"):
        keras_file.load_sparse_model(str(tmp_path / "g.h5"))
