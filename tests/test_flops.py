"""FLOPs counting rules, training multipliers, the piecewise accountant, recipe estimates and
ddst-flops."""

import json

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.flops.accountant import FlopsAccountant
from ddst_tf.flops.counting import LayerFlops, forward_flops, iteration_flops, layer_flops
from ddst_tf.flops.estimate import estimate, format_report
from ddst_tf.layers.masked import MaskedConv2D, MaskedConv2DTranspose, MaskedDense
from ddst_tf.models import registry
from ddst_tf.recipes import Recipe
from console_scripts import console_script


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _recipe(model="sngan32", densities=(1.0, 1.0), num_iterations=100_000, batches=(128, 64),
            n_critic=5, dataset="cifar10"):
    return Recipe(model=model, dataset=dataset, num_iterations=num_iterations,
                  densities=densities, sparse_init="erk", gen_batch_size=batches[0],
                  disc_batch_size=batches[1], n_critic=n_critic, dynamic=())


# Hand counts for the tiny model on one 8x8x2 sample:
#   conv  2->3, 3x3, stride 2 'same' -> 4x4x3: weight 2*3*9*(4*4) = 864, bias 3*16 = 48
#   bn    C=3 on 4x4:                          2*3*16 = 96
#   convT 3->2, 2x2, stride 2 -> 8x8x2:        weight 3*2*4*(4*4 input px) = 384, bias 2*64 = 128
#   flatten 128 -> dense 5:                    weight 128*5 = 640, bias 5
TINY_EXPECTED = [("conv", "conv", 864, 48, True), ("bn", "batch_norm", 0, 96, False),
                 ("convt", "conv_transpose", 384, 128, True), ("fc", "dense", 640, 5, True)]
TINY_DENSE = 864 + 48 + 96 + 384 + 128 + 640 + 5                           # 2165
TINY_DENSITIES = {"conv": 0.5, "convt": 0.25, "fc": 0.1}
TINY_SPARSE = 864 * 0.5 + 48 + 96 + 384 * 0.25 + 128 + 640 * 0.1 + 5        # 869


def _tiny_layers():
    return [MaskedConv2D(3, 3, strides=2, padding="same", name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.ReLU(name="relu"),
            MaskedConv2DTranspose(2, 2, strides=2, name="convt"),
            keras.layers.Flatten(name="flat"),
            MaskedDense(5, name="fc")]


def _tiny_functional():
    x = inputs = keras.Input((8, 8, 2))
    for layer in _tiny_layers():
        x = layer(x)
    return keras.Model(inputs, x)


class _TinySubclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.stack = _tiny_layers()

    def call(self, x, training=False):
        for layer in self.stack:
            x = layer(x, training=training)
        return x


@pytest.fixture(scope="module")
def sngan32():
    gin.clear_config()
    generator, discriminator = registry.build_gan("sngan32", (32, 32, 3))
    return generator, discriminator, layer_flops(generator), layer_flops(discriminator)


@pytest.mark.parametrize("make", [_tiny_functional, _TinySubclassed])
def test_tiny_model_layer_flops_match_hand_counts(make):
    model = make()
    inputs = np.ones((1, 8, 8, 2), np.float32)
    model(inputs)
    layers = layer_flops(model, inputs)
    assert [(l.name, l.kind, l.weight_flops, l.dense_flops, l.masked) for l in layers] \
        == TINY_EXPECTED
    assert forward_flops(layers) == TINY_DENSE
    assert forward_flops(layers, TINY_DENSITIES) == pytest.approx(TINY_SPARSE)
    assert all("call" not in layer.__dict__ for layer in model._flatten_layers())


def test_densities_must_name_exactly_the_masked_layers():
    layers = layer_flops(_tiny_functional())
    with pytest.raises(ValueError, match=r"missing \['fc'\]"):
        forward_flops(layers, {"conv": 0.5, "convt": 0.5})
    with pytest.raises(ValueError, match=r"unknown \['bn'\]"):
        forward_flops(layers, {**TINY_DENSITIES, "bn": 0.5})


def test_layer_with_weights_and_no_rule_raises():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.LayerNormalization(name="ln")(inputs))
    with pytest.raises(ValueError, match="No FLOPs rule for layer 'ln'"):
        layer_flops(model)


def test_iteration_multipliers():
    # batch_G = 64*5 + 3*128 = 704; batch_D = 3*64*5 + 128 = 1088, x5 again = 5440.
    assert iteration_flops(1.0, 1.0, 128, 64, 5) == (704.0, 5440.0)
    assert iteration_flops(1.0, 1.0, 128, 64, 5, paper_convention=False) == (704.0, 1088.0)
    with pytest.raises(ValueError, match="n_critic"):
        iteration_flops(1.0, 1.0, 128, 64, 0)


def test_dense_sngan_cifar10_total_is_the_papers_2_67e17():
    result = estimate(_recipe(), (32, 32, 3))
    assert result["dense_flops"]["total"] == pytest.approx(2.668e17, rel=1e-3)
    assert result["dense_flops"]["d"] / result["dense_flops"]["total"] == pytest.approx(
        0.556, abs=1e-3)


@pytest.mark.parametrize("d_discriminator, expected", [
    (None, [8.97, 17.08, 26.25, 47.25]),       # Static-Balance, Table 3
    (1.0, [58.29, 60.94, 64.53, 74.61]),       # Static-Strong, Table 3
])
def test_static_sngan_cifar10_normalized_flops_match_table_3(d_discriminator, expected):
    for d_generator, paper in zip([0.1, 0.2, 0.3, 0.5], expected):
        recipe = _recipe(densities=(d_generator, d_discriminator or d_generator))
        assert estimate(recipe)["normalized_percent"] == pytest.approx(paper, abs=0.3)


def test_stl10_sngan48_dense_total():
    result = estimate(_recipe(model="sngan48", dataset="image_folder"))
    assert result["image_shape"] == [48, 48, 3]
    assert result["dense_flops"]["total"] == pytest.approx(3.947e17, rel=5e-3)


@pytest.mark.skipif("biggan32" not in registry.known_models(), reason="biggan32 not registered")
def test_biggan32_cifar10_dense_total():
    recipe = _recipe(model="biggan32", num_iterations=200_000, batches=(50, 50), n_critic=4)
    result = estimate(recipe)
    assert result["num_classes"] == 10
    assert result["dense_flops"]["total"] == pytest.approx(6.804e17, rel=1e-3)


def test_normalized_flops_are_monotone_in_densities(sngan32):
    from ddst_tf.sparse.initialization import SparseInit

    generator, discriminator, g_layers, d_layers = sngan32
    grid = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0]
    g_cost = [forward_flops(g_layers, SparseInit("erk", d).densities(generator)) for d in grid]
    d_cost = [forward_flops(d_layers, SparseInit("erk", d).densities(discriminator))
              for d in grid]
    totals = np.array([[sum(iteration_flops(g, d, 128, 64, 5)) for d in d_cost]
                       for g in g_cost])
    assert np.all(np.diff(totals, axis=0) > 0) and np.all(np.diff(totals, axis=1) > 0)
    assert totals[-1, -1] == pytest.approx(sum(iteration_flops(
        forward_flops(g_layers), forward_flops(d_layers), 128, 64, 5)))


# Accountant layers: G fwd = 100*d_g + 10 + 4, D fwd = 200*d_d + 20; gen 2, dis 1, n_critic 3:
# batch_G = 1*3 + 3*2 = 9, batch_D = (3*1*3 + 2) * 3 = 33.
G_LAYERS = [LayerFlops("g_a", "dense", 100.0, 10.0, True),
            LayerFlops("g_bn", "batch_norm", 0.0, 4.0, False)]
D_LAYERS = [LayerFlops("d_a", "conv", 200.0, 20.0, True)]


def _accountant():
    return FlopsAccountant(G_LAYERS, D_LAYERS, gen_batch_size=2, disc_batch_size=1, n_critic=3)


def test_accountant_piecewise_sum_matches_hand_sum(tmp_path):
    accountant = _accountant()
    accountant.reset(0, {"g_a": 0.5}, {"d_a": 0.25})  # G 64*9 = 576, D 70*33 = 2310 / iteration
    accountant.on_change(10, d_densities={"d_a": 1.0})  # D 220*33 = 7260
    accountant.on_change(25, g_densities={"g_a": 1.0})  # G 114*9 = 1026
    # G: 576*25 + 1026*15 = 29790; D: 2310*10 + 7260*30 = 240900.
    assert accountant.totals(40) == (29790.0, 240900.0)
    assert accountant.dense_totals(40) == (1026.0 * 40, 7260.0 * 40)
    assert accountant.normalized(40) == pytest.approx((29790 + 240900) / (1026 * 40 + 7260 * 40))
    with pytest.raises(ValueError, match="must not go backwards"):
        accountant.on_change(20)

    path = tf.train.Checkpoint(flops=accountant).save(str(tmp_path / "ckpt"))
    restored = _accountant()
    tf.train.Checkpoint(flops=restored).restore(path).assert_consumed()
    assert restored.totals(40) == (29790.0, 240900.0)
    restored.on_change(40, d_densities={"d_a": 0.25})
    assert restored.totals(50) == (29790.0 + 10260.0, 240900.0 + 23100.0)


def test_accountant_at_reset_reports_the_rate_ratio():
    accountant = _accountant()
    accountant.reset(5, {"g_a": 0.5}, {"d_a": 0.25})
    assert accountant.totals(5) == (0.0, 0.0)
    assert accountant.normalized(5) == pytest.approx((576 + 2310) / (1026 + 7260))


@pytest.mark.integration
def test_ddst_flops_on_a_recipe_by_name(tmp_path):
    out = tmp_path / "flops.json"
    result = console_script("ddst-flops", "--gin_file=sngan_cifar10/static_balance.gin",
                            "--gin_bindings=D_G = 0.1", f"--json_out={out}")
    assert "normalized FLOPs:   8.97 %" in result.stdout
    written = json.loads(out.read_text())
    assert written["recipe"]["densities"] == [0.1, 0.1] and written["estimate_note"] is None
    assert written["normalized_percent"] == pytest.approx(8.97, abs=0.3)


def test_dynamic_recipes_are_estimated_at_their_initial_densities():
    from ddst_tf import config
    config.parse(["sngan_cifar10/adapt_relax.gin"], ["D_G = 0.3"])
    result = estimate(Recipe.from_gin())
    assert result["recipe"]["dynamic"] == ("g_dst", "d_controller")
    assert "initial densities" in result["estimate_note"]
    assert result["normalized_percent"] == pytest.approx(26.25, abs=0.3)
    report = format_report(result)
    assert "normalized FLOPs:   26." in report and report.endswith(
        "these are the FLOPs at the initial densities")
