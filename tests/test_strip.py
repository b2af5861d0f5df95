"""Tests of ddst_tf.export.strip: plain-Keras copies with masks and spectral norm folded."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.export.strip import PLAIN_COUNTERPARTS, strip
from ddst_tf.models import registry
from ddst_tf.sparse import view
from tiny_models import TINY, sparse_network

FOLDED_TYPES = tuple(folded for folded, _ in PLAIN_COUNTERPARTS)


def sparse_gan(name, density=0.5, seed=0):
    """Tiny G and D with random masks, SN vectors and BN statistics moved off their init."""
    G = sparse_network(name, "generator", density, seed)
    D = sparse_network(name, "discriminator", density, seed + 1)
    g_in, d_in = inputs(G, D, seed)
    for _ in range(2):
        G(g_in, training=True)
        D(d_in, training=True)
    return G, D


def inputs(G, D, seed=1, batch=3):
    rng = np.random.default_rng(seed)
    z = tf.constant(rng.normal(size=(batch, G.latent_dim)).astype(np.float32))
    labels = tf.constant(rng.integers(0, max(G.num_classes, 1), size=batch), tf.int32)
    g_in = [z, labels] if G.num_classes else z
    images = G(g_in)
    return g_in, ([images, labels] if D.num_classes else images)


def nested_layers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


@pytest.mark.parametrize("name", sorted(TINY))
def test_stripped_output_equals_masked_inference_output(name):
    assert set(TINY) == set(registry.known_models())
    G, D = sparse_gan(name)
    g_in, d_in = inputs(G, D, seed=5)
    for model, model_in in ((G, g_in), (D, d_in)):
        stripped = strip(model)
        np.testing.assert_allclose(stripped(model_in).numpy(), model(model_in).numpy(),
                                   atol=1e-5, rtol=1e-5)
        assert [layer.name for layer in stripped.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", sorted(TINY))
def test_only_plain_keras_layers_remain(name):
    for model in sparse_gan(name):
        stripped = strip(model)
        assert view.masked_layers(stripped) == []
        for layer in nested_layers(stripped):
            assert not isinstance(layer, FOLDED_TYPES), layer.name
            assert type(layer).__module__.startswith("keras."), (layer.name, type(layer))
        assert not any("mask" in w.path or "sn_u" in w.path for w in stripped.weights)


@pytest.mark.parametrize("name", ["sngan32", "biggan32"])
def test_stripped_kernels_are_zero_exactly_where_masks_are(name):
    for model in sparse_gan(name, density=0.3):
        stripped = strip(model)
        masks = view.get_masks(view.masked_layers(model))
        total_zero = total = 0
        for layer_name, mask in masks.items():
            kernel = stripped.get_layer(layer_name).kernel.numpy()
            np.testing.assert_array_equal(kernel == 0, mask == 0)
            total_zero += int(np.sum(kernel == 0))
            total += kernel.size
        density = float(view.global_density(view.masked_layers(model)))
        assert total_zero / total == pytest.approx(1.0 - density, abs=1e-12)


def test_spectral_norm_is_folded_into_the_kernel():
    G, D = sparse_gan("dcgan")
    _, d_in = inputs(G, D)
    for _ in range(30):  # let the power iteration converge to the top singular value
        D(d_in, training=True)
    layer = D.get_layer("d_c1")
    masked = layer.masked_kernel().numpy()
    sigma = np.linalg.norm(masked.reshape(-1, layer.filters), 2)
    stripped_kernel = strip(D).get_layer("d_c1").kernel.numpy()
    np.testing.assert_allclose(stripped_kernel, masked / sigma, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(stripped_kernel, layer.effective_kernel(False).numpy(),
                               rtol=1e-6)


def test_nested_functional_models_are_stripped_too():
    G, _ = sparse_gan("dcgan")
    z = keras.Input((G.latent_dim,))
    outer = keras.Model(z, keras.layers.Activation("linear", name="outer_id")(G(z)))
    stripped = strip(outer)
    assert view.masked_layers(stripped) == []
    latent = np.random.default_rng(2).normal(size=(2, G.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(stripped(latent), outer(latent), atol=1e-6)


def test_subclassed_models_are_rejected():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="functional or Sequential.*Subclassed"):
        strip(model)


_LOAD_WITHOUT_DDST_TF = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    for name in sys.argv[1:]:
        model = keras.saving.load_model(f"{name}.keras")
        data = np.load(f"{name}.npz")
        model_in = [data["x0"], data["x1"]] if "x1" in data else data["x0"]
        np.testing.assert_allclose(model(model_in), data["y"], atol=1e-5)
    assert "ddst_tf" not in sys.modules, "loading imported ddst_tf"
    print("ok", len(sys.argv) - 1)
""")


def test_stripped_keras_files_load_without_ddst_tf(tmp_path):
    names = []
    for gan in ("dcgan", "biggan32"):
        G, D = sparse_gan(gan)
        g_in, d_in = inputs(G, D, seed=7)
        for role, model, model_in in (("g", G, g_in), ("d", D, d_in)):
            name = f"{gan}_{role}"
            strip(model).save(tmp_path / f"{name}.keras")
            parts = model_in if isinstance(model_in, list) else [model_in]
            np.savez(tmp_path / f"{name}.npz", y=model(model_in).numpy(),
                     **{f"x{i}": np.asarray(p) for i, p in enumerate(parts)})
            names.append(name)
    result = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_DDST_TF, *names],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith(f"ok {len(names)}")
