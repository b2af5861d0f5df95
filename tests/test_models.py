"""Tests of ddst_tf.models: registry, functional shapes, layer names, masking, spectral
norm, conditional BigGAN-32, gin and saving."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.layers.masked import MASKED_LAYER_TYPES
from ddst_tf.models import registry
from ddst_tf.models.conditional_batch_norm import conditional_batch_norm
from ddst_tf.layers.spectral_norm import SpectralNormDense, SpectralNormEmbedding
from ddst_tf.sparse import view

TINY = {
    "sngan32": {"generator": {"gf_dim": 8}, "discriminator": {"df_dim": 8}},
    "sngan48": {"generator": {"gf_dim": 16}, "discriminator": {"df_dim": 4}},
    "dcgan": {"generator": {"base_width": 4}, "discriminator": {"base_width": 4}},
    "biggan32": {"generator": {"ch": 2}, "discriminator": {"ch": 2}},
}
CLASSES = {"biggan32": 3}

CASES = [
    ("sngan32", (16, 16, 3)),
    ("sngan32", (32, 32, 1)),
    ("sngan48", (48, 48, 3)),
    ("dcgan", (8, 8, 1)),
    ("dcgan", (16, 16, 3)),
    ("dcgan", (28, 28, 1)),
    ("dcgan", (32, 32, 3)),
    ("biggan32", (16, 16, 3)),
]
ONE_PER_MODEL = [CASES[0], CASES[2], CASES[5], CASES[7]]


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def tiny_gan(name, image_shape):
    widths = TINY[name]
    common = {"image_shape": image_shape, "num_classes": CLASSES.get(name, 0)}
    return (registry.build_generator(name, **common, **widths["generator"]),
            registry.build_discriminator(name, **common, **widths["discriminator"]))


def masked_names(model):
    return [layer.name for layer in view.masked_layers(model)]


def latent(G, batch=4, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(
        size=(batch, G.latent_dim)).astype(np.float32))


def labels_for(model, batch=4):
    return tf.constant(np.arange(batch) % model.num_classes, tf.int32)


def g_inputs(G, batch=4, seed=0):
    z = latent(G, batch, seed)
    return [z, labels_for(G, batch)] if G.num_classes else z


def d_inputs(D, images):
    return [images, labels_for(D, images.shape[0])] if D.num_classes else images


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def all_layers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def test_known_models():
    assert {"sngan32", "sngan48", "dcgan", "biggan32"} <= set(registry.known_models())
    assert not registry.is_conditional("sngan32")
    assert registry.is_conditional("biggan32")


def test_unknown_model_error_lists_known_names():
    with pytest.raises(ValueError, match="nope") as error:
        registry.build_generator("nope", image_shape=(32, 32, 3))
    for name in registry.known_models():
        assert name in str(error.value)
    with pytest.raises(ValueError, match="sngan32"):
        registry.build_gan("nope", (32, 32, 3))


@pytest.mark.parametrize("name,image_shape", CASES)
def test_functional_models_output_shapes_and_ranges(name, image_shape):
    G, D = tiny_gan(name, image_shape)
    assert G.__class__.__name__ == "Functional" and D.__class__.__name__ == "Functional"
    assert G.image_shape == image_shape and D.image_shape == image_shape
    assert G.num_classes == D.num_classes == CLASSES.get(name, 0)
    assert G.inputs[0].shape == (None, G.latent_dim)
    for training in (False, True):
        images = G(g_inputs(G), training=training)
        assert images.shape == (4, *image_shape) and images.dtype == "float32"
        assert np.all(np.abs(images.numpy()) <= 1.0)
        logits = D(d_inputs(D, images), training=training)
        assert logits.shape == (4, 1) and logits.dtype == "float32"


def test_discriminator_outputs_raw_logits():
    G, D = tiny_gan("dcgan", (8, 8, 1))
    images = G(latent(G))
    logits = D(images).numpy()
    head = D.get_layer("d_out")
    head.kernel_variable.assign(-1e4 * head.kernel_variable)  # bias starts at 0
    np.testing.assert_allclose(D(images).numpy(), -1e4 * logits, rtol=1e-4)


SNGAN32_G_LAYERS = ["g_l1"] + [f"g_block{b}_{c}" for b in (2, 3, 4)
                               for c in ("c1", "c2", "c_sc")] + ["g_c5"]
SNGAN32_D_LAYERS = (["d_block1_c1", "d_block1_c2", "d_block1_c_sc",
                     "d_block2_c1", "d_block2_c2", "d_block2_c_sc"]
                    + [f"d_block{b}_{c}" for b in (3, 4) for c in ("c1", "c2")] + ["d_l5"])


def test_sngan32_layer_names_are_the_reference_ones_and_stable():
    first = tiny_gan("sngan32", (16, 16, 3))
    second = tiny_gan("sngan32", (16, 16, 3))
    for model_a, model_b in zip(first, second):
        assert masked_names(model_a) == masked_names(model_b)
        assert [w.path for w in model_a.weights] == [w.path for w in model_b.weights]
    assert sorted(masked_names(first[0])) == sorted(SNGAN32_G_LAYERS)
    assert sorted(masked_names(first[1])) == sorted(SNGAN32_D_LAYERS)
    assert not first[1].get_layer("d_l5").use_bias


def test_biggan32_masks_the_sngan32_layer_set_and_never_the_class_layers():
    G, D = tiny_gan("biggan32", (16, 16, 3))
    assert sorted(masked_names(G)) == sorted(SNGAN32_G_LAYERS)
    assert sorted(masked_names(D)) == sorted(SNGAN32_D_LAYERS[:-1])
    embeddings = [layer for model in (G, D) for layer in all_layers(model)
                  if isinstance(layer, keras.layers.Embedding)]
    # 3 blocks x 2 conditional norms x (gain, bias) in G, the projection table in D.
    assert len(embeddings) == 13
    assert all(not any(w.path.endswith("/mask") for w in e.weights) for e in embeddings)
    assert not isinstance(D.get_layer("d_classifier"), MASKED_LAYER_TYPES)
    assert isinstance(D.get_layer("d_classifier"), SpectralNormDense)
    assert isinstance(D.get_layer("d_embedding"), SpectralNormEmbedding)


@pytest.mark.parametrize("name,image_shape", [CASES[0], CASES[2], CASES[6], CASES[7]])
def test_masked_layer_names_unique_across_g_and_d(name, image_shape):
    gin.parse_config([f"{name}_{role}.{key} = {value}" for role, widths in TINY[name].items()
                      for key, value in widths.items()])
    G, D = registry.build_gan(name, image_shape, num_classes=CLASSES.get(name, 0))
    names = masked_names(G) + masked_names(D)
    assert len(names) == len(set(names))
    assert all(n.startswith("g_") for n in masked_names(G))
    assert all(n.startswith("d_") for n in masked_names(D))


def test_sngan48_layers_follow_adapt_resnet48():
    G, D = tiny_gan("sngan48", (48, 48, 3))
    kernels = {layer.name: tuple(layer.mask.shape) for layer in view.masked_layers(D)}
    # df_dim 4: optimized block 4, then down blocks to 8, 16, 32, 64; l6 has a bias.
    assert kernels["d_block1_c1"] == (3, 3, 3, 4)
    assert kernels["d_block5_c1"] == (3, 3, 32, 64)
    assert kernels["d_block5_c_sc"] == (1, 1, 32, 64)
    assert kernels["d_l6"] == (64, 1)
    assert D.get_layer("d_l6").use_bias
    g_kernels = {layer.name: tuple(layer.mask.shape) for layer in view.masked_layers(G)}
    assert g_kernels["g_l1"] == (128, 6 * 6 * 16)
    assert g_kernels["g_block4_c2"] == (3, 3, 2, 2)
    assert g_kernels["g_c5"] == (3, 3, 2, 3)


@pytest.mark.parametrize("name,image_shape,g_sn", [
    ("sngan32", (16, 16, 3), False), ("sngan48", (48, 48, 3), False),
    ("biggan32", (16, 16, 3), True)])
def test_spectral_norm_on_every_d_layer_and_as_the_reference_in_g(name, image_shape, g_sn):
    G, D = tiny_gan(name, image_shape)
    assert all(layer.spectral_norm for layer in view.masked_layers(D))
    assert all(layer.spectral_norm == g_sn for layer in view.masked_layers(G))


def test_spectral_norm_vector_updates_only_in_training():
    _, D = tiny_gan("sngan32", (16, 16, 3))
    layer = view.masked_layers(D)[0]
    x = np.random.default_rng(1).normal(size=(2, 16, 16, 3)).astype(np.float32)
    before = layer.sn_u.numpy().copy()
    D(x, training=False)
    np.testing.assert_array_equal(layer.sn_u.numpy(), before)
    D(x, training=True)
    assert not np.allclose(layer.sn_u.numpy(), before)


@pytest.mark.parametrize("layer_class,table_shape", [
    (SpectralNormDense, (6, 4)), (SpectralNormEmbedding, (5, 7))])
def test_unmasked_spectral_norm_layers_divide_by_the_top_singular_value(layer_class,
                                                                         table_shape):
    rows, cols = table_shape
    if layer_class is SpectralNormDense:
        layer, inputs = layer_class(cols), tf.eye(rows)  # outputs are the kernel rows
    else:
        layer, inputs = layer_class(rows, cols), tf.range(rows)
    layer.build((None, rows) if layer_class is SpectralNormDense else (None,))
    table = np.random.default_rng(4).normal(size=table_shape).astype(np.float32)
    layer.set_weights([table] + [w.numpy() for w in layer.weights[1:]])
    before = layer.sn_u.numpy().copy()
    layer(inputs, training=False)
    np.testing.assert_array_equal(layer.sn_u.numpy(), before)
    for _ in range(50):
        out = layer(inputs, training=True)
    bias = layer.bias.numpy() if layer_class is SpectralNormDense else 0.0
    sigma = np.linalg.svd(table, compute_uv=False)[0]
    np.testing.assert_allclose(out.numpy() - bias, table / sigma, rtol=1e-4, atol=1e-6)


def test_conditional_batch_norm_scales_and_shifts_by_class():
    x = keras.Input((1, 2, 2))
    y = keras.Input((), dtype="int32")
    model = keras.Model([x, y], conditional_batch_norm(x, y, num_classes=2, name="cbn"))
    model.get_layer("cbn_gain").set_weights([np.array([[1.0, 2.0], [3.0, 0.5]], np.float32)])
    model.get_layer("cbn_bias").set_weights([np.array([[0.0, 1.0], [-1.0, 0.0]], np.float32)])
    # Batch statistics per channel: channel 0 (1, 1, 3, 3) -> -1, +1; channel 1 (all 2) -> 0.
    inputs = np.array([[[[1.0, 2.0], [1.0, 2.0]]], [[[3.0, 2.0], [3.0, 2.0]]]], np.float32)
    out = model([inputs, np.array([0, 1], np.int32)], training=True).numpy()
    eps_scale = 1.0 / np.sqrt(1.0 + 1e-5)
    np.testing.assert_allclose(out[0, 0, 0], [-1.0 * eps_scale * 1.0 + 0.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(out[1, 0, 0], [1.0 * eps_scale * 3.0 - 1.0, 0.0], atol=1e-5)
    assert not model.get_layer("cbn_bn").scale and not model.get_layer("cbn_bn").center


def test_biggan32_labels_change_both_networks():
    G, D = tiny_gan("biggan32", (16, 16, 3))
    z = latent(G, batch=3)
    same = tf.constant([0, 0, 0])
    other = tf.constant([1, 2, 1])
    assert not np.allclose(G([z, same]).numpy(), G([z, other]).numpy())
    images = G([z, same])
    assert not np.allclose(D([images, same]).numpy(), D([images, other]).numpy())


def test_biggan32_needs_classes():
    with pytest.raises(ValueError, match="class-conditional.*got 0"):
        registry.build_gan("biggan32", (32, 32, 3))
    with pytest.raises(ValueError, match="multiple of 8"):
        registry.build_gan("biggan32", (30, 30, 3), num_classes=10)


def test_dcgan_spectral_norm_is_a_gin_option():
    _, D = registry.build_gan("dcgan", (8, 8, 1))
    assert not any(layer.spectral_norm for layer in view.masked_layers(D))
    gin.parse_config("dcgan_discriminator.spectral_norm = True")
    _, D = registry.build_gan("dcgan", (8, 8, 1))
    assert all(layer.spectral_norm for layer in view.masked_layers(D))


UNMASKED_DENSE = {"d_classifier"}  # BigGAN-32's classifier: dense in the reference


@pytest.mark.parametrize("name,image_shape", ONE_PER_MODEL)
def test_only_dense_and_conv_kernels_are_masked(name, image_shape):
    for model in tiny_gan(name, image_shape):
        masked = view.masked_layers(model)
        for layer in all_layers(model):
            if (isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D,
                                   keras.layers.Conv2DTranspose))
                    and layer.name not in UNMASKED_DENSE):
                assert isinstance(layer, MASKED_LAYER_TYPES), layer.name
        masks = [w for w in model.weights if w.path.endswith("/mask")]
        assert len(masks) == len(masked)
        for layer in masked:
            assert tuple(layer.mask.shape) == tuple(layer.kernel_variable.shape)
        norms = [layer for layer in all_layers(model)
                 if isinstance(layer, keras.layers.BatchNormalization)]
        assert all(not any(w.path.endswith("/mask") for w in n.weights) for n in norms)
        if model.name == "generator":
            assert norms, "generators use batch norm"


def test_full_size_sngan32_parameter_counts():
    # Hand count (PyTorch GAN-LTH SNGAN, gf 256 / df 128, 32x32x3), trainable only.
    # G: l1 128*4096+4096; per block 2 BN(256) + 2 conv3 256->256 + conv1 256->256;
    #    BN(256) + c5 256->3.
    block_g = 2 * 512 + 2 * (9 * 256 * 256 + 256) + (256 * 256 + 256)
    expected_g = (128 * 4096 + 4096) + 3 * block_g + 512 + (9 * 256 * 3 + 3)
    # D: block1 conv3 3->128, conv3 128->128, conv1 3->128; block2 two conv3 + conv1;
    #    blocks 3-4 two conv3 each; l5 128->1 without bias.
    conv3 = 9 * 128 * 128 + 128
    expected_d = ((9 * 3 * 128 + 128) + conv3 + (3 * 128 + 128)
                  + 2 * conv3 + (128 * 128 + 128) + 4 * conv3 + 128)
    assert (expected_g, expected_d) == (4_276_739, 1_053_824)
    G, D = registry.build_gan("sngan32", (32, 32, 3))
    assert (trainable_count(G), trainable_count(D)) == (expected_g, expected_d)
    assert G.latent_dim == 128


def test_full_size_biggan32_parameter_counts():
    # Hand count (ADAPT biggan.32, ch 64 -> 256 channels, 10 classes, 32x32x3).
    # G: SN linear 128*4096+4096; per block 2 CBN (gain + bias tables 10x256, BN has no
    #    affine) + 2 conv3 256->256 + conv1 256->256; BN(256) + conv3 256->3.
    conv3 = 9 * 256 * 256 + 256
    block_g = 2 * 2 * 10 * 256 + 2 * conv3 + (256 * 256 + 256)
    expected_g = (128 * 4096 + 4096) + 3 * block_g + 512 + (9 * 256 * 3 + 3)
    # D: block1 conv3 3->256, conv3, conv1 3->256; block2 two conv3 + conv1; blocks 3-4
    #    two conv3 each; classifier 256->1 with bias; projection embedding 10x256.
    expected_d = ((9 * 3 * 256 + 256) + conv3 + (3 * 256 + 256) + 2 * conv3
                  + (256 * 256 + 256) + 4 * conv3 + 257 + 10 * 256)
    assert (expected_g, expected_d) == (4_304_387, 4_207_361)
    G, D = registry.build_gan("biggan32", (32, 32, 3), num_classes=10)
    assert (trainable_count(G), trainable_count(D)) == (expected_g, expected_d)
    assert (G.latent_dim, G.num_classes, D.num_classes) == (128, 10, 10)


def test_gin_binds_widths_and_entry_point():
    gin.parse_config("""
        sngan32_generator.gf_dim = 8
        sngan32_generator.latent_dim = 16
        sngan32_discriminator.df_dim = 4
        build_gan.name = 'sngan32'
        build_gan.image_shape = (16, 16, 1)
    """)
    G, D = registry.build_gan()
    assert G.latent_dim == 16
    kernels = {layer.name: tuple(layer.mask.shape)
               for layer in view.masked_layers(G) + view.masked_layers(D)}
    assert kernels["g_l1"] == (16, 2 * 2 * 8)
    assert kernels["g_block2_c1"] == (3, 3, 8, 8)
    assert kernels["g_c5"] == (3, 3, 8, 1)
    assert kernels["d_block1_c1"] == (3, 3, 1, 4)
    assert G(latent(G)).shape == (4, 16, 16, 1)


def test_generator_only():
    G, D = registry.build_gan("dcgan", (8, 8, 3), generator_only=True)
    assert D is None and G(latent(G)).shape == (4, 8, 8, 3)


@pytest.mark.parametrize("name,image_shape,allowed", [
    ("sngan32", (30, 30, 3), "multiple of 8"),
    ("sngan32", (32, 16, 3), "square"),
    ("sngan48", (24, 24, 3), "at least 32"),
    ("dcgan", (20, 20, 1), r"\[8, 16, 28, 32, 64\]"),
    ("dcgan", (28, 28), r"\(height, width, channels\)"),
])
def test_unsupported_image_shape_says_what_is_supported(name, image_shape, allowed):
    with pytest.raises(ValueError, match=allowed):
        registry.build_generator(name, image_shape=image_shape)
    with pytest.raises(ValueError, match=allowed):
        registry.build_discriminator(name, image_shape=image_shape)


def test_unconditional_models_reject_classes():
    with pytest.raises(ValueError, match="num_classes must be 0"):
        registry.build_gan("sngan32", (16, 16, 3), num_classes=10)


def test_register_rejects_duplicates_and_bad_roles():
    with pytest.raises(ValueError, match="already has a registered generator"):
        registry.register("sngan32", "generator")(lambda **kw: None)
    with pytest.raises(ValueError, match="Unknown role"):
        registry.register("x", "critic")


@pytest.mark.parametrize("name,image_shape", ONE_PER_MODEL)
def test_config_round_trip_rebuilds_the_same_architecture(name, image_shape):
    G, D = tiny_gan(name, image_shape)
    for model in (G, D):
        clone = keras.Model.from_config(model.get_config())
        assert masked_names(clone) == masked_names(model)
        assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
        clone.set_weights(model.get_weights())
        inputs = g_inputs(G) if model is G else d_inputs(D, G(g_inputs(G)))
        np.testing.assert_allclose(clone(inputs), model(inputs), atol=1e-6)


@pytest.mark.parametrize("name,image_shape", [CASES[0], CASES[7]])
def test_keras_file_round_trip_keeps_weights_and_masks(name, image_shape, tmp_path):
    G, D = tiny_gan(name, image_shape)
    layers = view.masked_layers(G)
    masks = view.get_masks(layers)
    masks["g_block2_c1"] = (np.random.default_rng(3).random(
        masks["g_block2_c1"].shape) < 0.5).astype(np.float32)
    view.set_masks(layers, masks)
    G(g_inputs(G), training=True)  # moves the SN vectors of biggan32's G off their init
    for model, path in ((G, tmp_path / "g.keras"), (D, tmp_path / "d.keras")):
        model.save(path)
    G2 = keras.saving.load_model(tmp_path / "g.keras")
    D2 = keras.saving.load_model(tmp_path / "d.keras")
    inputs = g_inputs(G)
    np.testing.assert_allclose(G2(inputs), G(inputs), atol=1e-6)
    np.testing.assert_allclose(D2(d_inputs(D, G(inputs))), D(d_inputs(D, G(inputs))), atol=1e-6)
    np.testing.assert_array_equal(view.get_masks(view.masked_layers(G2))["g_block2_c1"],
                                  masks["g_block2_c1"])
