"""Tests for ddst_tf.sparse.initialization: hand-computed densities, exact masks, overrides."""

import gin
import keras
import numpy as np
import pytest

from ddst_tf.layers.masked import MaskedConv2D, MaskedDense
from ddst_tf.sparse import initialization as init
from ddst_tf.sparse import view

# Dense toy: N = 200, 600, 150 (total 950). For 2-D kernels ER and ERK coincide:
# raw = sum/prod = 30/200 = 0.15, 50/600 = 1/12, 35/150 = 7/30; raw * N = 30, 50, 35.
DENSE_TOY = {"l1": (10, 20), "l2": (20, 30), "l3": (30, 5)}

# Conv toy: N = 288, 576, 80 (total 944), budget at d = 0.25 is 236 weights.
CONV_TOY = {"c1": (3, 3, 4, 8), "c2": (3, 3, 8, 8), "fc": (8, 10)}


def _global_density(shapes, densities):
    sizes = {name: np.prod(shape) for name, shape in shapes.items()}
    return sum(densities[n] * sizes[n] for n in shapes) / sum(sizes.values())


@pytest.mark.parametrize("method", [init.erdos_renyi, init.erk])
def test_dense_toy_er_and_erk_by_hand(method):
    # d = 0.5: eps = 0.5 * 950 / (30 + 50 + 35) = 475 / 115 = 4.1304; all eps * raw < 1.
    densities = method(DENSE_TOY, 0.5)
    eps = 475 / 115
    assert densities == pytest.approx({"l1": 0.15 * eps, "l2": eps / 12, "l3": 7 / 30 * eps})
    assert densities == pytest.approx({"l1": 0.619565, "l2": 0.344203, "l3": 0.963768},
                                      abs=1e-6)


def test_conv_toy_erk_includes_kernel_dims():
    # ERK raw * N = sum(shape) = 18, 22, 18 -> 58; eps = 236 / 58 = 4.068966.
    # c1 = eps * 18/288, c2 = eps * 22/576, fc = eps * 18/80.
    densities = init.erk(CONV_TOY, 0.25)
    assert densities == pytest.approx({"c1": 0.254310, "c2": 0.155412, "fc": 0.915517},
                                      abs=1e-6)


def test_conv_toy_er_uses_channel_dims_only():
    # ER raw = (n_in + n_out)/(n_in n_out) on the last two dims: 12/32, 16/64, 18/80;
    # raw * N = 108, 144, 18 -> 270; eps = 236 / 270 = 0.874074.
    densities = init.erdos_renyi(CONV_TOY, 0.25)
    assert densities == pytest.approx({"c1": 0.327778, "c2": 0.218519, "fc": 0.196667},
                                      abs=1e-6)


def test_uniform_gives_every_layer_the_global_density():
    assert init.uniform(CONV_TOY, 0.3) == pytest.approx({"c1": 0.3, "c2": 0.3, "fc": 0.3})


def test_dense_fallback_resolves_eps():
    # d = 0.6: eps = 570 / 115 = 4.9565 and l3 gets 7/30 * 4.9565 = 1.157 > 1 -> dense.
    # Re-solve without l3: eps = (570 - 150) / (30 + 50) = 5.25;
    # l1 = 0.15 * 5.25 = 0.7875, l2 = 5.25 / 12 = 0.4375 (157.5 + 262.5 + 150 = 570).
    densities = init.erk(DENSE_TOY, 0.6)
    assert densities == pytest.approx({"l1": 0.7875, "l2": 0.4375, "l3": 1.0})
    assert _global_density(DENSE_TOY, densities) == pytest.approx(0.6)


def test_density_one_is_fully_dense():
    densities = init.erk(CONV_TOY, 1.0)
    assert densities == {"c1": 1.0, "c2": 1.0, "fc": 1.0}
    masks = init.random_masks(CONV_TOY, densities, seed=0)
    assert all(np.all(mask == 1.0) for mask in masks.values())


def test_erk_power_scale():
    assert init.erk(DENSE_TOY, 0.5, erk_power_scale=0.0) == pytest.approx(
        init.uniform(DENSE_TOY, 0.5))
    soft = init.erk(DENSE_TOY, 0.5, erk_power_scale=0.5)
    hard = init.erk(DENSE_TOY, 0.5)
    assert soft["l3"] / soft["l2"] < hard["l3"] / hard["l2"]
    assert _global_density(DENSE_TOY, soft) == pytest.approx(0.5)


def test_dense_layers_override_counts_toward_budget():
    # d = 0.5, l1 dense (200 weights): eps = (475 - 200) / (50 + 35) = 275 / 85 = 3.2353;
    # l2 = eps / 12 = 0.269608, l3 = 7/30 * eps = 0.754902.
    densities = init.erk(DENSE_TOY, 0.5, dense_layers=("l1",))
    assert densities == pytest.approx({"l1": 1.0, "l2": 0.269608, "l3": 0.754902}, abs=1e-6)
    assert _global_density(DENSE_TOY, densities) == pytest.approx(0.5)


def test_layer_density_override_counts_toward_budget():
    # d = 0.5, l3 at 0.2 (30 weights): eps = (475 - 30) / (30 + 50) = 5.5625;
    # l1 = 0.15 * eps = 0.834375, l2 = eps / 12 = 0.463542.
    densities = init.erk(DENSE_TOY, 0.5, layer_densities={"l3": 0.2})
    assert densities == pytest.approx({"l1": 0.834375, "l2": 0.463542, "l3": 0.2}, abs=1e-6)


def _sngan_shapes():
    """Keras kernel shapes of GAN-LTH SNGAN-CIFAR G (gf_dim 256) and D (df_dim 128)."""
    generator = {"l1": (128, 4 * 4 * 256)}
    for block in (2, 3, 4):
        generator.update({f"block{block}.c1": (3, 3, 256, 256),
                          f"block{block}.c2": (3, 3, 256, 256),
                          f"block{block}.c_sc": (1, 1, 256, 256)})
    generator["c5"] = (3, 3, 256, 3)
    discriminator = {"block1.c1": (3, 3, 3, 128), "block1.c2": (3, 3, 128, 128),
                     "block1.c_sc": (1, 1, 3, 128),
                     "block2.c1": (3, 3, 128, 128), "block2.c2": (3, 3, 128, 128),
                     "block2.c_sc": (1, 1, 128, 128)}
    for block in (3, 4):
        discriminator.update({f"block{block}.c1": (3, 3, 128, 128),
                              f"block{block}.c2": (3, 3, 128, 128)})
    discriminator["l5"] = (128, 1)
    return generator, discriminator


def test_sngan_cifar_erk_matches_spec():
    generator, discriminator = _sngan_shapes()
    g = init.erk(generator, 0.1)
    assert g["l1"] == pytest.approx(0.381, abs=0.002)
    assert g["c5"] == 1.0
    for block in (2, 3, 4):
        assert g[f"block{block}.c1"] == pytest.approx(0.042, abs=0.002)
        assert g[f"block{block}.c2"] == pytest.approx(0.042, abs=0.002)
        assert g[f"block{block}.c_sc"] == pytest.approx(0.371, abs=0.002)
    assert _global_density(generator, g) == pytest.approx(0.1)

    d = init.erk(discriminator, 0.1)
    assert d["block1.c1"] == d["block1.c_sc"] == d["l5"] == 1.0
    assert d["block2.c_sc"] == pytest.approx(0.762, abs=0.002)
    for name in ("block1.c2", "block2.c1", "block2.c2", "block3.c1", "block3.c2",
                 "block4.c1", "block4.c2"):
        assert d[name] == pytest.approx(0.086, abs=0.002)
    assert _global_density(discriminator, d) == pytest.approx(0.1)

    g = init.erk(generator, 0.3)
    assert g["l1"] == g["c5"] == 1.0
    for block in (2, 3, 4):
        assert g[f"block{block}.c_sc"] == 1.0
        assert g[f"block{block}.c1"] == pytest.approx(0.156, abs=0.002)


def test_masks_have_exact_nonzero_counts():
    # Densities from the d = 0.5 hand example: 200 * 0.619565 = 123.91 -> 124,
    # 600 * 0.344203 = 206.52 -> 207, 150 * 0.963768 = 144.57 -> 145.
    masks = init.random_masks(DENSE_TOY, init.erk(DENSE_TOY, 0.5), seed=3)
    assert {name: int(mask.sum()) for name, mask in masks.items()} == {
        "l1": 124, "l2": 207, "l3": 145}
    assert all(mask.shape == DENSE_TOY[name] for name, mask in masks.items())
    assert all(set(np.unique(mask)) <= {0.0, 1.0} for mask in masks.values())


def test_masks_are_reproducible_per_seed_and_per_layer():
    densities = init.uniform(CONV_TOY, 0.3)
    first = init.random_masks(CONV_TOY, densities, seed=7)
    again = init.random_masks(CONV_TOY, densities, seed=7)
    other = init.random_masks(CONV_TOY, densities, seed=8)
    for name in CONV_TOY:
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])
    changed_first_layer = init.random_masks(CONV_TOY, {**densities, "c1": 0.9}, seed=7)
    np.testing.assert_array_equal(first["c2"], changed_first_layer["c2"])
    np.testing.assert_array_equal(first["fc"], changed_first_layer["fc"])


def _tiny_masked_layers():
    dense_in = MaskedDense(16, name="dense_in")
    dense_in.build((None, 12))
    conv = MaskedConv2D(8, 3, name="conv")
    conv.build((None, 6, 6, 4))
    dense_out = MaskedDense(3, name="dense_out")
    dense_out.build((None, 16))
    return [dense_in, conv, dense_out]


def test_apply_writes_masks_and_zeroes_kernels():
    layers = _tiny_masked_layers()
    sparse_init = init.SparseInit(method="erk", density=0.3)
    densities = sparse_init.apply(layers, seed=0)
    assert densities == pytest.approx(sparse_init.densities(layers))
    for layer in layers:
        mask = layer.mask.numpy()
        assert int(mask.sum()) == round(densities[layer.name] * mask.size)
        assert np.all(layer.kernel_variable.numpy()[mask == 0] == 0.0)
    assert float(view.global_density(layers)) == pytest.approx(0.3, abs=0.01)


def test_apply_accepts_a_model_and_is_reproducible():
    model = keras.Sequential([keras.Input((12,)), MaskedDense(16, name="a"),
                              MaskedDense(4, name="b")])
    sparse_init = init.SparseInit(method="uniform", density=0.25)
    sparse_init.apply(model, seed=5)
    first = view.get_masks(view.masked_layers(model))
    sparse_init.apply(model, seed=5)
    again = view.get_masks(view.masked_layers(model))
    assert {name: int(m.sum()) for name, m in first.items()} == {"a": 48, "b": 16}
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])


def test_sparse_init_is_gin_configurable():
    gin.clear_config()
    try:
        gin.parse_config("SparseInit.method = 'erk'\n"
                         "SparseInit.density = 0.6\n"
                         "SparseInit.dense_layers = ('l1',)")
        sparse_init = init.SparseInit()
    finally:
        gin.clear_config()
    # d = 0.6, l1 dense: eps = (570 - 200) / 85 = 4.3529; l2 = eps / 12 = 0.362745, and
    # l3 = 7/30 * eps = 1.0157 > 1 -> dense; re-solve: l2 = (570 - 350) / 600 = 0.366667.
    assert sparse_init.solve(DENSE_TOY) == pytest.approx(
        {"l1": 1.0, "l2": 0.366667, "l3": 1.0}, abs=1e-6)


@pytest.mark.parametrize("density,message", [
    (0.0, r"in \(0, 1\]; got 0"), (-0.1, r"in \(0, 1\]; got -0\.1"),
    (1.5, r"in \(0, 1\]; got 1\.5"), ("0.5", "a finite number; got '0.5'"),
    (True, r"a finite number; got True \(bool\)")])
def test_bad_density_names_the_value(density, message):
    with pytest.raises(ValueError, match="density must be " + message):
        init.SparseInit(method="erk", density=density)


def test_unknown_method_lists_known_methods():
    with pytest.raises(ValueError, match=r"'rigl'.*\['erdos_renyi', 'erk', 'uniform'\]"):
        init.SparseInit(method="rigl", density=0.5)


def test_erk_power_scale_rejected_for_other_methods():
    with pytest.raises(ValueError, match="only applies to method 'erk'"):
        init.SparseInit(method="uniform", density=0.5, erk_power_scale=0.5)


def test_override_errors():
    with pytest.raises(ValueError, match=r"unknown layers \['l9'\]"):
        init.erk(DENSE_TOY, 0.5, dense_layers=("l9",))
    with pytest.raises(ValueError, match="not the string 'l1'"):
        init.erk(DENSE_TOY, 0.5, dense_layers="l1")
    with pytest.raises(ValueError, match=r"layer_densities\['l2'\] must be .* got 0"):
        init.erk(DENSE_TOY, 0.5, layer_densities={"l2": 0})
    with pytest.raises(ValueError, match=r"\['l2'\] are in both"):
        init.erk(DENSE_TOY, 0.5, dense_layers=("l2",), layer_densities={"l2": 0.5})
    # l2 dense keeps 600 weights > budget 0.5 * 950 = 475.
    with pytest.raises(ValueError, match="more than the budget"):
        init.erk(DENSE_TOY, 0.5, dense_layers=("l2",))
    # l2 at 0.01 keeps 6; the others hold 350 < 0.9 * 950 - 6 = 849.
    with pytest.raises(ValueError, match="too sparse"):
        init.erk(DENSE_TOY, 0.9, layer_densities={"l2": 0.01})
    # a dense keeps 100 weights = the whole budget 0.5 * 200, leaving none for b.
    with pytest.raises(ValueError, match="would get no weights"):
        init.uniform({"a": (10, 10), "b": (10, 10)}, 0.5, dense_layers=("a",))


def test_bad_seed_and_er_shape():
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got -1"):
        init.random_masks(DENSE_TOY, init.uniform(DENSE_TOY, 0.5), seed=-1)
    with pytest.raises(ValueError, match=r"got shape \(7,\)"):
        init.erdos_renyi({"v": (7,), "w": (3, 4)}, 0.5)
