"""Density controller: pure decisions, golden grow/prune/DST, invariants, checkpoints."""

import math
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from ddst_tf.balance.density_controller import (MODE_DEFAULTS, Decision, DensityController,
                                                target_nnz)
from ddst_tf.layers.masked import MaskedConv2D, MaskedDense
from ddst_tf.sparse import view
from two_replicas import run_on_two_cpu_replicas

HIGH, INSIDE, LOW = 0.6, 0.5, 0.4  # BR values for the default bounds (0.45, 0.55)


def _controller(mode="relaxed", initial_density=0.1, **kwargs):
    kwargs = {"num_iterations": 10000, "n_critic": 5, "update_every": 1000, **kwargs}
    return DensityController(mode=mode, initial_density=initial_density, **kwargs)


# ---------------------------------------------------------------- pure decisions


@pytest.mark.parametrize("br,decision,target", [
    (HIGH, Decision.INCREASE, 0.35),
    (INSIDE, Decision.NONE, 0.3),
    (LOW, Decision.DECREASE, 0.25),
    (0.55, Decision.INCREASE, 0.35),  # inclusive: BR == B+ counts as above
    (0.45, Decision.DECREASE, 0.25),
    (float("nan"), Decision.NONE, 0.3),
])
def test_relaxed_decisions(br, decision, target):
    controller = _controller(initial_density=0.3)
    assert controller.decide(br, True, 3000) == decision
    assert controller.target_density(decision, 3000) == pytest.approx(target, abs=1e-12)


def test_strict_comparisons_leave_the_bounds_inside():
    controller = _controller(initial_density=0.3, inclusive=False)
    assert controller.decide(0.55, True, 1000) == Decision.NONE
    assert controller.decide(0.45, True, 1000) == Decision.NONE
    assert controller.decide(0.5500001, True, 1000) == Decision.INCREASE
    assert controller.decide(0.4499999, True, 1000) == Decision.DECREASE


@pytest.mark.parametrize("iteration", [0, 500, 1500, 9999, 10000, 11000])
def test_no_decision_off_the_update_grid_or_at_the_last_iteration(iteration):
    assert _controller().decide(HIGH, True, iteration) == Decision.NONE


def test_wait_until_the_window_is_full():
    controller = _controller()
    assert controller.decide(HIGH, False, 1000) == Decision.WAIT
    assert controller.decide(HIGH, True, 1000) == Decision.INCREASE


def test_relaxed_cap_is_one():
    controller = _controller(initial_density=0.98)
    assert controller.decide(HIGH, True, 1000) == Decision.INCREASE
    assert controller.target_density(Decision.INCREASE, 1000) == 1.0
    assert controller.decide(HIGH, True, 1000, density=1.0) == Decision.AT_LIMIT


def test_dda_behaves_like_relaxed_with_its_own_bounds():
    controller = _controller("dda", initial_density=0.1)
    assert (controller.lower_bound, controller.upper_bound) == (0.50, 0.65)
    assert controller.decide(0.6, True, 1000) == Decision.NONE
    assert controller.decide(0.65, True, 1000) == Decision.INCREASE
    assert controller.decide(0.7, True, 1000, density=1.0) == Decision.AT_LIMIT


def test_strict_caps_at_d_max_then_runs_dst():
    controller = _controller("strict", initial_density=0.45, d_max=0.5)
    assert controller.decide(HIGH, True, 1000) == Decision.INCREASE
    assert controller.target_density(Decision.INCREASE, 1000) == 0.5
    assert controller.decide(HIGH, True, 1000, density=0.5) == Decision.DST
    assert controller.decide(INSIDE, True, 1000, density=0.5) == Decision.NONE
    assert controller.decide(LOW, True, 1000, density=0.5) == Decision.DECREASE
    assert controller.target_density(Decision.DECREASE, 1000, density=0.5) == 0.45


def test_increments_of_float_steps_reach_the_cap_exactly():
    # 0.1 + 0.05 * 8 is 0.5000000000000001 in floating point.
    controller = _controller("strict", initial_density=0.1, d_max=0.5)
    density = 0.1
    for _ in range(8):
        assert controller.decide(HIGH, True, 1000, density=density) == Decision.INCREASE
        density = controller.target_density(Decision.INCREASE, 1000, density=density)
    assert density == 0.5
    assert controller.decide(HIGH, True, 1000, density=density) == Decision.DST


def test_floor():
    controller = _controller(initial_density=0.12)
    assert controller.target_density(Decision.DECREASE, 1000) == 0.07
    assert controller.decide(LOW, True, 1000, density=0.07) == Decision.DECREASE
    assert controller.target_density(Decision.DECREASE, 1000, density=0.07) == 0.05
    assert controller.decide(LOW, True, 1000, density=0.05) == Decision.AT_LIMIT


def test_linear_rises_to_one_without_the_balance_ratio():
    controller = _controller("linear", initial_density=0.2)
    assert controller.grow_score == "random"
    assert controller.decide(None, False, 5000) == Decision.INCREASE
    assert controller.target_density(Decision.INCREASE, 5000) == pytest.approx(0.6)
    assert controller.decide(None, False, 5000, density=0.6) == Decision.AT_LIMIT
    assert controller.decide(None, False, 10000) == Decision.NONE


def test_static_never_decides():
    controller = _controller("static")
    for br in (HIGH, LOW):
        assert controller.decide(br, True, 1000) == Decision.NONE


def test_mode_defaults_follow_the_scripts():
    strict = _controller("strict", update_every=None)
    assert strict.update_every == MODE_DEFAULTS["strict"]["update_every"] == 2000
    assert strict.dst_schedule.end_step == 10000 * 5


@pytest.mark.parametrize("kwargs,message", [
    (dict(mode="adaptive"), r"DensityController.mode must be one of \['relaxed', .*\]; got 'adaptive'"),
    (dict(bounds=(0.6, 0.5)), r"B- < B\+; got B-=0.6 and B\+=0.5"),
    (dict(bounds=(0.5, 0.5)), r"B-=0.5 and B\+=0.5"),
    (dict(bounds=0.5), "two finite numbers"),
    (dict(mode="strict", initial_density=0.6, d_max=0.5), "d_max=0.5 is below initial_density=0.6"),
    (dict(initial_density=0.03), "below floor=0.05"),
    (dict(update_every=0), "update_every"),
    (dict(delta=1.5), "delta"),
    (dict(grow_score="biggest"), "Unknown grow score 'biggest'"),
    (dict(drop_score="gradient"), "Unknown drop score 'gradient'"),
])
def test_bad_configuration_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _controller(**kwargs)


def test_target_nnz_rounds_half_up_despite_float_error():
    assert target_nnz(0.15, 10) == 2  # 0.15 * 10 = 1.4999999999999998
    assert target_nnz(0.25, 10) == 3
    assert target_nnz(0.3, 7) == 2


# ---------------------------------------------------------------- applied to layers

# Positions 0-5: layer A (2x3, row-major), 6-9: layer B (2x2). nnz 5 of 10.
MASK_A = np.array([[1, 0, 1], [0, 1, 0]], np.float32)
MASK_B = np.array([[0, 1], [1, 0]], np.float32)
WEIGHT_A = np.array([[0.5, 0.0, -0.1], [0.0, 0.3, 0.0]], np.float32)
WEIGHT_B = np.array([[0.0, -0.05], [0.7, 0.0]], np.float32)
GRAD_A = np.array([[0.0, -0.6, 0.8], [0.1, 0.9, 0.2]], np.float32)
GRAD_B = np.array([[-0.7, 0.3], [0.05, 0.4]], np.float32)


def _golden_layers():
    layer_a, layer_b = MaskedDense(3, name="a"), MaskedDense(2, name="b")
    layer_a.build((None, 2))
    layer_b.build((None, 2))
    view.set_masks([layer_a, layer_b], [MASK_A, MASK_B])
    layer_a.kernel_variable.assign(WEIGHT_A)
    layer_b.kernel_variable.assign(WEIGHT_B)
    return [layer_a, layer_b]


def _grads():
    return [tf.constant(GRAD_A), tf.constant(GRAD_B)]


def _masks(layers):
    return [layer.mask.numpy() for layer in layers]


def test_increase_grows_the_largest_gradient_zero_positions():
    layers = _golden_layers()
    controller = _controller(initial_density=0.5, delta=0.2)
    result = controller.step(1000, HIGH, True, layers, _grads())
    # 7 - 5 = 2 grown among zeros 1 (.6), 3 (.1), 5 (.2), 6 (.7), 9 (.4): 6 and 1.
    np.testing.assert_array_equal(_masks(layers)[0], [[1, 1, 1], [0, 1, 0]])
    np.testing.assert_array_equal(_masks(layers)[1], [[1, 1], [1, 0]])
    assert result == {"decision": Decision.INCREASE, "density": 0.7, "nnz": 7, "grown": 2,
                      "dropped": 0, "turnover": 0.2, "dst_fraction": 0.0}
    assert layers[0].kernel_variable.numpy()[0, 1] == 0.0  # grown weights start at 0


def test_decrease_prunes_the_smallest_magnitudes_globally():
    layers = _golden_layers()
    controller = _controller(initial_density=0.5, delta=0.2)
    result = controller.step(1000, LOW, True, layers)  # no gradients needed to prune
    # 5 - 3 = 2 pruned among |w| .5 (0), .1 (2), .3 (4), .05 (7), .7 (8): 7 and 2.
    np.testing.assert_array_equal(_masks(layers)[0], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(_masks(layers)[1], [[0, 0], [1, 0]])
    assert layers[0].kernel_variable.numpy()[0, 2] == 0.0
    assert layers[1].kernel_variable.numpy()[0, 1] == 0.0
    assert (result["decision"], result["nnz"], result["dropped"]) == (Decision.DECREASE, 3, 2)
    assert float(controller.density) == 0.3


def test_strict_at_the_cap_runs_dst_with_constant_nnz():
    layers = _golden_layers()
    controller = _controller("strict", initial_density=0.5, d_max=0.5, update_every=2000)
    result = controller.step(2000, HIGH, True, layers, _grads())
    # D step 2000 * 5 of 50000: fraction = 0.005 + 0.495 * (1 + cos(0.2 pi)) / 2 = 0.4527;
    # floor(0.4527 * 5) = 2 drops: 7 (.05), 2 (.1); zeros 1 2 3 5 6 7 9, top |g|: 2 (.8), 6 (.7).
    expected_fraction = 0.005 + 0.495 * (1 + math.cos(0.2 * math.pi)) / 2
    assert result["dst_fraction"] == pytest.approx(expected_fraction)
    np.testing.assert_array_equal(_masks(layers)[0], MASK_A)
    np.testing.assert_array_equal(_masks(layers)[1], [[1, 0], [1, 0]])
    assert (result["decision"], result["nnz"], result["density"]) == (Decision.DST, 5, 0.5)
    assert result["turnover"] == 0.2
    assert int(controller.num_dst) == 1
    assert float(controller.last_dst_fraction) == pytest.approx(expected_fraction)


def test_relaxed_at_full_density_changes_nothing():
    layers = _golden_layers()
    view.set_masks(layers, [np.ones_like(MASK_A), np.ones_like(MASK_B)])
    controller = _controller(initial_density=1.0)
    result = controller.step(1000, HIGH, True, layers, _grads())
    assert result["decision"] == Decision.AT_LIMIT and result["turnover"] == 0.0
    assert int(controller.num_changes) == 0
    assert int(controller.last_decision) == Decision.AT_LIMIT


def test_wait_and_off_grid_calls_leave_masks_alone():
    layers = _golden_layers()
    controller = _controller(initial_density=0.5)
    assert controller.step(1000, HIGH, False, layers, _grads())["decision"] == Decision.WAIT
    assert controller.step(1500, HIGH, True, layers, _grads())["decision"] == Decision.NONE
    np.testing.assert_array_equal(_masks(layers)[0], MASK_A)
    assert int(controller.last_decision_iteration) == 1000


def test_gradient_growth_without_gradients_is_a_clear_error():
    with pytest.raises(ValueError, match="gradient"):
        _controller(initial_density=0.5).step(1000, HIGH, True, _golden_layers())


def test_random_growth_is_reproducible_from_the_seed():
    grown = []
    for _ in range(2):
        layers = _golden_layers()
        controller = _controller("linear", initial_density=0.5, num_iterations=2000)
        result = controller.step(1000, None, False, layers, seed=7)
        assert (result["density"], result["nnz"], result["grown"]) == (0.75, 8, 3)
        grown.append(np.concatenate([m.ravel() for m in _masks(layers)]))
    np.testing.assert_array_equal(grown[0], grown[1])
    old = np.concatenate([MASK_A.ravel(), MASK_B.ravel()])
    assert np.all(grown[0][old == 1] == 1)


def test_static_mode_never_touches_the_masks():
    layers = _golden_layers()
    controller = _controller("static", initial_density=0.5)
    for br in (HIGH, LOW):
        assert controller.step(1000, br, True, layers, _grads())["turnover"] == 0.0


def _conv_dense_d(seed):
    rng = np.random.default_rng(seed)
    conv, dense = MaskedConv2D(3, 3, name="conv"), MaskedDense(4, name="dense")
    conv.build((None, 5, 5, 2))
    dense.build((None, 6))
    layers = [conv, dense]
    for layer in layers:
        layer.kernel_variable.assign(rng.normal(size=layer.mask.shape).astype(np.float32))
    return layers, rng


@settings(max_examples=8, deadline=None)
@given(mode=st.sampled_from(["relaxed", "strict", "dda"]),
       initial=st.sampled_from([0.1, 0.2, 0.3]),
       brs=st.lists(st.sampled_from([0.3, 0.5, 0.6, 0.7]), min_size=4, max_size=10),
       seed=st.integers(0, 100))
def test_nnz_equals_rounded_target_after_every_change(mode, initial, brs, seed):
    layers, rng = _conv_dense_d(seed)
    total = sum(view.layer_sizes(layers))  # 54 + 24 = 78
    flat = np.zeros(total, np.float32)
    flat[rng.permutation(total)[:target_nnz(initial, total)]] = 1
    view.set_masks(layers, [flat[:54].reshape(3, 3, 2, 3), flat[54:].reshape(6, 4)])
    controller = _controller(mode, initial_density=initial, update_every=1000,
                             num_iterations=100000)
    for index, br in enumerate(brs, start=1):
        grads = [tf.constant(rng.normal(size=layer.mask.shape), tf.float32) for layer in layers]
        result = controller.step(1000 * index, br, True, layers, grads, seed=seed)
        density = float(controller.density)
        assert controller.floor - 1e-12 <= density <= controller.cap + 1e-12
        assert result["nnz"] == int(view.total_nnz(layers)) == target_nnz(density, total)
        for layer in layers:
            assert np.all(layer.kernel_variable.numpy()[layer.mask.numpy() == 0] == 0)


def test_checkpoint_restores_the_controller_state(tmp_path):
    layers = _golden_layers()
    controller = _controller("strict", initial_density=0.4, d_max=0.5, delta=0.1)
    controller.step(1000, HIGH, True, layers, _grads())
    controller.step(2000, HIGH, True, layers, _grads())  # at the cap: DST
    path = tf.train.Checkpoint(controller=controller).write(str(tmp_path / "controller"))
    restored = _controller("strict", initial_density=0.4, d_max=0.5, delta=0.1)
    tf.train.Checkpoint(controller=restored).read(path).assert_consumed()
    for name in ("density", "last_decision", "last_decision_iteration", "num_changes",
                 "num_dst", "last_dst_fraction"):
        assert getattr(restored, name).numpy() == getattr(controller, name).numpy(), name
    assert float(restored.density) == 0.5 and int(restored.num_changes) == 2
    assert restored.decide(HIGH, True, 3000) == controller.decide(HIGH, True, 3000) == Decision.DST


_MIRRORED_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    from ddst_tf.balance.density_controller import DensityController
    from ddst_tf.layers.masked import MaskedDense
    from ddst_tf.sparse import view

    with strategy.scope():
        controller = DensityController(mode="relaxed", initial_density=0.5,
                                       num_iterations=10000, n_critic=5, update_every=1000)
        layer = MaskedDense(4, name="d")
        layer.build((None, 5))
    view.set_masks([layer], [np.arange(20).reshape(5, 4) % 2])
    gradients = [tf.reshape(tf.range(20, dtype=tf.float32), (5, 4))]
    result = controller.step(1000, 0.7, True, [layer], gradients)
    try:
        strategy.run(lambda: controller.step(2000, 0.7, True, [layer], gradients))
        error = ""
    except RuntimeError as e:
        error = str(e)
    local = lambda v: [t.numpy().tolist() for t in strategy.experimental_local_results(v)]
    print(json.dumps({"nnz": result["nnz"], "masks": local(layer.mask.value),
                      "density": local(controller.density), "error": error}))
""")


@pytest.mark.integration
def test_cross_replica_step_sets_every_replica_and_refuses_replica_context():
    out = run_on_two_cpu_replicas(_MIRRORED_SCRIPT)
    # 0.5 -> 0.55 of 20: one weight grown, the zero position with the largest gradient (18).
    expected = (np.arange(20) % 2).astype(np.float32)
    expected[18] = 1
    assert out["nnz"] == 11 and out["density"] == [0.55, 0.55]
    for mask in out["masks"]:
        np.testing.assert_array_equal(np.ravel(mask), expected)
    assert "cross-replica context" in out["error"]
