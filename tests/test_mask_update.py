"""Prune-and-regrow: hand-computed masks, tie-breaking, invariants, layers, tf.function."""

import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from ddst_tf.layers.masked import MaskedDense, effective_kernel_gradients, watch_masks
from ddst_tf.sparse import mask_update, scores
from ddst_tf.sparse.view import set_masks
from two_replicas import run_on_two_cpu_replicas

# Two layers, flattened positions 0-5 (A, row-major) and 6-11 (B).
MASK_A = np.array([[1, 1, 0], [1, 0, 1]], np.float32)
MASK_B = np.array([[1, 0], [1, 1], [0, 1]], np.float32)
WEIGHT_A = np.array([[0.5, -0.1, 0.0], [0.3, 0.0, -0.9]], np.float32)
WEIGHT_B = np.array([[0.2, 0.0], [-0.05, 0.7], [0.0, 0.4]], np.float32)
GRAD_A = np.array([[0.0, -0.6, 0.8], [0.1, 0.9, 0.0]], np.float32)
GRAD_B = np.array([[0.3, -0.2], [0.05, 0.0], [-0.7, 0.0]], np.float32)


def _golden_states(**extra):
    return [scores.LayerState(WEIGHT_A, MASK_A, gradient=GRAD_A, **extra.get("a", {})),
            scores.LayerState(WEIGHT_B, MASK_B, gradient=GRAD_B, **extra.get("b", {}))]


def _update(states, drop="magnitude", grow="gradient", fraction=0.5, **kwargs):
    new, stats = mask_update.prune_and_regrow(
        [s.mask for s in states], scores.compute_scores(drop, states),
        scores.compute_scores(grow, states), fraction, **kwargs)
    return [m.numpy() for m in new], {k: [float(v) for v in vs]
                                      for k, vs in stats._asdict().items()}


def test_global_magnitude_drop_gradient_growth():
    # k = floor(0.5 * 8) = 4 drops: |w| 0.05 (8), 0.1 (1), 0.2 (6), 0.3 (3).
    # Zeros after the drop: 1 2 3 4 6 7 8 10; largest |g|: 4 (.9), 2 (.8), 10 (.7), 1 (.6).
    new, stats = _update(_golden_states())
    np.testing.assert_array_equal(new[0], [[1, 1, 1], [0, 1, 1]])
    np.testing.assert_array_equal(new[1], [[0, 0], [0, 1], [1, 1]])
    assert stats == {"dropped": [2, 2], "grown": [3, 1], "regrown": [1, 0],
                     "turnover": [0.5, 0.5]}


def test_global_without_regrowing_dropped_positions():
    # Only the 4 zeros from before the drop may grow: 2, 4, 7, 10.
    new, stats = _update(_golden_states(), allow_regrow_dropped=False)
    np.testing.assert_array_equal(new[0], [[1, 0, 1], [0, 1, 1]])
    np.testing.assert_array_equal(new[1], [[0, 1], [0, 1], [1, 1]])
    assert stats["regrown"] == [0, 0] and stats["grown"] == [2, 2]


def test_layer_scope_keeps_each_layer_count():
    # A: drop 0.1 (1), 0.3 (3); grow 4 (.9), 2 (.8). B: drop 0.05 (8), 0.2 (6);
    # grow 10 (.7), 6 (.3) -- position 6 was just dropped and comes back.
    new, stats = _update(_golden_states(), scope="layer")
    np.testing.assert_array_equal(new[0], [[1, 0, 1], [0, 1, 1]])
    np.testing.assert_array_equal(new[1], [[1, 0], [0, 1], [1, 1]])
    assert stats["regrown"] == [0, 1]
    assert [m.sum() for m in new] == [4, 4]


def test_momentum_growth():
    momentum_a = np.array([[0.0, 0.0, -0.2], [0.0, 0.1, 0.0]], np.float32)
    momentum_b = np.array([[0.0, 0.5], [0.0, 0.0], [0.3, 0.0]], np.float32)
    states = _golden_states(a={"momentum": momentum_a}, b={"momentum": momentum_b})
    # Drops as in the global test; zeros after it by |m|: 7 (.5), 10 (.3), 2 (.2), 4 (.1).
    new, _ = _update(states, grow="momentum")
    np.testing.assert_array_equal(new[0], [[1, 0, 1], [0, 1, 1]])
    np.testing.assert_array_equal(new[1], [[0, 1], [0, 1], [1, 1]])


def test_set_magnitude_sign_drop_differs_from_magnitude():
    weight = np.array([[0.5, 0.6, 0.7, 0.8], [0.9, 1.0, -0.01, -0.02], [0, 0, 0, 0]],
                      np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]], np.float32)
    grow_scores = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], np.float32)
    state = scores.LayerState(weight, mask, gradient=grow_scores)
    # k = 4; SET drops half of each sign group: 0.5 0.6 0.7 (positives) and -0.01;
    # the last row grows back.
    new, _ = _update([state], drop="set_magnitude_sign")
    np.testing.assert_array_equal(new[0], [[0, 0, 0, 1], [1, 1, 0, 1], [1, 1, 1, 1]])
    new, _ = _update([state], drop="magnitude")
    np.testing.assert_array_equal(new[0], [[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]])


def test_ties_pick_the_lower_flattened_index():
    weight = np.array([[0.3, -0.3, 0.3], [0.5, 0.0, 0.0]], np.float32)
    mask = np.array([[1, 1, 1], [1, 0, 0]], np.float32)
    grow_scores = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5]], np.float32)
    state = scores.LayerState(weight, mask, gradient=grow_scores)
    # k = 1: three tied |w| = 0.3, position 0 goes; growth ties 4 and 5, 4 wins.
    new, _ = _update([state], fraction=0.25)
    np.testing.assert_array_equal(new[0], [[0, 1, 1], [1, 1, 0]])
    # Across layers the earlier layer comes first; k = floor(0.5 * 4) = 2 is capped
    # at the single zero of the network when dropped positions cannot regrow.
    a = scores.LayerState(np.full((1, 2), 0.2, np.float32), np.ones((1, 2), np.float32),
                          gradient=np.ones((1, 2), np.float32))
    b = scores.LayerState(np.array([[0.2, 0.2, 0.0]], np.float32),
                          np.array([[1, 1, 0]], np.float32),
                          gradient=np.ones((1, 3), np.float32))
    new, stats = _update([a, b], allow_regrow_dropped=False)
    np.testing.assert_array_equal(new[0], [[0, 1]])
    np.testing.assert_array_equal(new[1], [[1, 1, 1]])
    assert stats["dropped"] == [1, 0]
    new, _ = _update([a, b])
    np.testing.assert_array_equal(new[0], [[1, 1]])
    np.testing.assert_array_equal(new[1], [[1, 1, 0]])


def test_top_k_is_stable_for_ties():
    values = tf.constant(np.tile([1.0, 2.0, 1.0, 2.0], 5000), tf.float32)
    _, indices = tf.math.top_k(values, k=12000)
    indices = indices.numpy()
    assert np.all(np.diff(indices[:10000]) > 0) and np.all(np.diff(indices[10000:]) > 0)


def _random_growth(step):
    states = [s._replace(seed=scores.layer_seed(3, 0, step, i))
              for i, s in enumerate(_golden_states())]
    new, _ = _update(states, grow="random")
    return states, new


def test_random_growth_is_reproducible_and_only_among_zeros():
    states, new = _random_growth(step=10)
    _, again = _random_growth(step=10)
    for a, b in zip(new, again):
        np.testing.assert_array_equal(a, b)
    # The same choice by hand: zeros after the magnitude drop, highest uniform score.
    flat_random = np.concatenate(
        [scores.random_score(s).numpy().ravel() for s in states])
    eligible = [1, 2, 3, 4, 6, 7, 8, 10]
    chosen = sorted(eligible, key=lambda i: (-flat_random[i], i))[:4]
    expected = np.zeros(12, np.float32)
    expected[[0, 5, 9, 11] + chosen] = 1
    np.testing.assert_array_equal(np.concatenate([m.ravel() for m in new]), expected)
    other_steps = [np.concatenate([m.ravel() for m in _random_growth(s)[1]])
                   for s in range(11, 16)]
    assert any(not np.array_equal(m, expected) for m in other_steps)


def test_grow_and_prune_helpers():
    states = _golden_states()
    masks = [MASK_A, MASK_B]
    new, stats = mask_update.grow(masks, scores.compute_scores("gradient", states), 3)
    np.testing.assert_array_equal(new[0], [[1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(new[1], [[1, 0], [1, 1], [1, 1]])
    assert [int(g) for g in stats.grown] == [2, 1] and [int(d) for d in stats.dropped] == [0, 0]
    new, stats = mask_update.prune(masks, scores.compute_scores("magnitude", states), 3)
    np.testing.assert_array_equal(new[0], [[1, 0, 0], [1, 0, 1]])
    np.testing.assert_array_equal(new[1], [[0, 0], [0, 1], [0, 1]])
    assert [int(d) for d in stats.dropped] == [1, 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="grow count exceeds"):
        mask_update.grow(masks, scores.compute_scores("gradient", states), 5)
    with pytest.raises(ValueError, match="Cannot prune -1"):
        mask_update.prune(masks, scores.compute_scores("magnitude", states), -1)


def test_drop_count_is_floor_with_exact_integers():
    assert int(mask_update.drop_count(0.7, 10)) == 7
    assert int(mask_update.drop_count(tf.constant(0.7, tf.float32), 10)) == 7
    assert int(mask_update.drop_count(0.29, 100)) == 29
    assert int(mask_update.drop_count(0.5, 7)) == 3
    assert int(mask_update.drop_count(0.005, 150)) == 0


def test_bad_arguments_raise_clear_errors():
    states = _golden_states()
    with pytest.raises(ValueError, match=r"Unknown scope 'net'; allowed: \['global', 'layer'\]"):
        _update(states, scope="net")
    with pytest.raises(ValueError, match="fraction must be in \\[0, 1\\], got 1.5"):
        _update(states, fraction=1.5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="fraction must be in"):
        _update(states, fraction=tf.constant(-0.1))
    with pytest.raises(ValueError, match="Got 1 grow_scores for 2 masks"):
        mask_update.prune_and_regrow([MASK_A, MASK_B], [WEIGHT_A, WEIGHT_B], [GRAD_A], 0.5)


@st.composite
def _networks(draw):
    shapes = draw(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)),
                           min_size=1, max_size=3))
    density = draw(st.floats(0.0, 1.0))
    fraction = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    masks = [(rng.random(s) < density).astype(np.float32) for s in shapes]
    # One decimal place makes ties common.
    drop = [np.round(rng.random(s), 1).astype(np.float32) for s in shapes]
    grow = [np.round(rng.random(s), 1).astype(np.float32) for s in shapes]
    return masks, drop, grow, fraction


@settings(max_examples=25, deadline=None)
@given(_networks(), st.sampled_from(mask_update.SCOPES), st.booleans())
def test_prune_and_regrow_invariants(network, scope, allow_regrow_dropped):
    masks, drop, grow, fraction = network
    new, stats = mask_update.prune_and_regrow(masks, drop, grow, fraction, scope,
                                              allow_regrow_dropped)
    new = [m.numpy() for m in new]
    groups = [range(len(masks))] if scope == "global" else [[i] for i in range(len(masks))]
    for group in groups:
        old = np.concatenate([masks[i].ravel() for i in group]) > 0
        now = np.concatenate([new[i].ravel() for i in group])
        assert set(np.unique(now)) <= {0.0, 1.0}
        now = now > 0
        assert now.sum() == old.sum()
        d = np.concatenate([drop[i].ravel() for i in group])
        g = np.concatenate([grow[i].ravel() for i in group])
        dropped = sum(float(stats.dropped[i]) for i in group)
        regrown = sum(float(stats.regrown[i]) for i in group)
        expected = np.floor(np.float64(fraction) * old.sum() + 1e-6)
        newly_active = now & ~old
        if allow_regrow_dropped:
            assert dropped == expected
            not_grown = ~now
        else:
            assert dropped == min(expected, (~old).sum()) and regrown == 0
            not_grown = ~old & ~now
            removed, kept = old & ~now, old & now
            if removed.any() and kept.any():
                assert d[removed].max() <= d[kept].min()
        assert newly_active.sum() + regrown == dropped
        if newly_active.any() and not_grown.any():
            assert g[newly_active].min() >= g[not_grown].max()


def _masked_model(units, seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,))] +
                             [MaskedDense(u, name=f"dense_{i}") for i, u in enumerate(units)])
    return model, list(model.layers)


def _adam_steps(model, optimizer, steps, seed):
    x = tf.random.stateless_normal((4, 3), seed=(seed, 1))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))


def _assert_pruned_weights_zero(layers):
    for layer in layers:
        kernel, mask = layer.kernel_variable.numpy(), layer.mask.numpy()
        assert np.all(kernel[mask == 0] == 0), layer.name


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.floats(0.1, 0.9),
       st.floats(0.05, 0.95), st.integers(0, 1000))
def test_masked_weights_stay_zero_through_update_and_adam(units, density, fraction, seed):
    model, layers = _masked_model(units, seed)
    rng = np.random.default_rng(seed)
    set_masks(layers, [(rng.random(layer.mask.shape) < density).astype(np.float32)
                       for layer in layers])
    optimizer = keras.optimizers.Adam(0.05)
    _adam_steps(model, optimizer, 2, seed)
    _assert_pruned_weights_zero(layers)
    states = scores.layer_states(layers, seed=seed, step=1)
    old_masks = [layer.mask.numpy() for layer in layers]
    old_kernels = [layer.kernel_variable.numpy() for layer in layers]
    new, _ = mask_update.prune_and_regrow(
        [s.mask for s in states], scores.compute_scores("magnitude", states),
        scores.compute_scores("random", states), fraction)
    mask_update.apply_masks(layers, new)
    for layer, old_mask, old_kernel, new_mask in zip(layers, old_masks, old_kernels, new):
        np.testing.assert_array_equal(layer.mask.numpy(), new_mask)
        kept = (old_mask == 1) & (new_mask.numpy() == 1)
        np.testing.assert_array_equal(layer.kernel_variable.numpy()[kept], old_kernel[kept])
    _assert_pruned_weights_zero(layers)
    _adam_steps(model, optimizer, 2, seed)
    _assert_pruned_weights_zero(layers)


def _gradient_update(model, layers, optimizer, reset_optimizer_slots):
    """One full RigL update: dense gradients, scores, new masks, assignment."""
    x = tf.random.stateless_normal((2, 3), seed=(1, 2))
    with tf.GradientTape() as tape:
        watch_masks(tape, layers)
        loss = tf.reduce_sum(model(x) ** 2)
    grads = effective_kernel_gradients(tape, loss, layers)
    states = scores.layer_states(layers, gradients=grads)
    new, stats = mask_update.prune_and_regrow(
        [s.mask for s in states], scores.compute_scores("magnitude", states),
        scores.compute_scores("gradient", states), 0.5)
    mask_update.apply_masks(layers, new, optimizer, reset_optimizer_slots)
    return new, stats


def _fresh_trained_model():
    model, layers = _masked_model([4, 2], seed=5)
    set_masks(layers, [np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]], np.float32),
                       np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32)])
    optimizer = keras.optimizers.Adam(0.05)
    _adam_steps(model, optimizer, 2, seed=5)
    return model, layers, optimizer


def test_update_runs_inside_tf_function_like_eager():
    model, layers, optimizer = _fresh_trained_model()
    eager_new, eager_stats = _gradient_update(model, layers, optimizer, False)
    eager_kernels = [layer.kernel_variable.numpy() for layer in layers]

    model, layers, optimizer = _fresh_trained_model()
    compiled = tf.function(lambda: _gradient_update(model, layers, optimizer, False))
    new, stats = compiled()
    for a, b in zip(eager_new, new):
        np.testing.assert_array_equal(a, b)
    for layer, a, kernel in zip(layers, eager_new, eager_kernels):
        np.testing.assert_array_equal(layer.mask.numpy(), a)
        np.testing.assert_array_equal(layer.kernel_variable.numpy(), kernel)
    assert [float(t) for t in stats.turnover] == [float(t) for t in eager_stats.turnover]
    assert any(float(t) > 0 for t in stats.turnover)


def test_reset_optimizer_slots_zeroes_moments_of_grown_positions_only():
    model, layers, optimizer = _fresh_trained_model()
    # Masked kernel gradients leave the moments of never-active positions at 0;
    # fill every slot so that the reset is visible.
    for layer in layers:
        for slot in scores.optimizer_slots(optimizer, layer.kernel_variable).values():
            slot.assign(np.arange(1, slot.shape.num_elements() + 1, dtype=np.float32)
                        .reshape(slot.shape))
    slots_before = [{k: v.numpy() for k, v in
                     scores.optimizer_slots(optimizer, layer.kernel_variable).items()}
                    for layer in layers]
    old_masks = [layer.mask.numpy() for layer in layers]
    tf.function(lambda: _gradient_update(model, layers, optimizer, True))()
    grown_somewhere = False
    for layer, old_mask, before in zip(layers, old_masks, slots_before):
        grown = (old_mask == 0) & (layer.mask.numpy() == 1)
        grown_somewhere |= grown.any()
        for name, value in scores.optimizer_slots(optimizer, layer.kernel_variable).items():
            value = value.numpy()
            assert np.all(value[grown] == 0), name
            np.testing.assert_array_equal(value[~grown], before[name][~grown])
    assert grown_somewhere
    with pytest.raises(ValueError, match="needs the optimizer"):
        mask_update.apply_masks(layers, [layer.mask for layer in layers],
                                reset_optimizer_slots=True)


_MIRRORED_SCRIPT = textwrap.dedent("""
    import keras, numpy as np, tensorflow as tf
    from ddst_tf.layers.masked import MaskedDense, effective_kernel_gradients, watch_masks
    from ddst_tf.sparse import mask_update, scores
    from ddst_tf.sparse.view import set_masks

    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), MaskedDense(6, name="a"),
                                  MaskedDense(4, name="b")])
        optimizer = keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
    layers = list(model.layers)
    rng = np.random.default_rng(0)
    set_masks(layers, [(rng.random(l.mask.shape) < 0.4).astype(np.float32) for l in layers])
    before = {"masks": [l.mask.numpy().tolist() for l in layers],
              "kernels": [l.kernel_variable.numpy().tolist() for l in layers]}

    @tf.function
    def update(step):
        states = scores.layer_states(layers, seed=5, network_id=1, step=step)
        new, _ = mask_update.prune_and_regrow(
            [s.mask for s in states], scores.compute_scores("magnitude", states),
            scores.compute_scores("random", states), 0.5)
        mask_update.apply_masks(layers, new, optimizer, reset_optimizer_slots=True)

    update(tf.constant(3, tf.int64))
    local = lambda v: [t.numpy().tolist() for t in strategy.experimental_local_results(v.value)]
    print(json.dumps({"before": before,
                      "masks": [local(l.mask) for l in layers],
                      "kernels": [local(l.kernel_variable) for l in layers]}))
""")


@pytest.mark.integration
def test_cross_replica_update_sets_every_replica_like_one_device():
    out = run_on_two_cpu_replicas(_MIRRORED_SCRIPT)
    before = out["before"]
    states = [scores.LayerState(np.array(k, np.float32), np.array(m, np.float32),
                                seed=scores.layer_seed(5, 1, 3, i))
              for i, (k, m) in enumerate(zip(before["kernels"], before["masks"]))]
    expected, stats = _update(states, grow="random")
    assert sum(stats["dropped"]) > 0 and sum(stats["grown"]) > sum(stats["regrown"])
    for layer_index, expected_mask in enumerate(expected):
        replica_masks = out["masks"][layer_index]
        replica_kernels = out["kernels"][layer_index]
        assert len(replica_masks) == 2
        for mask, kernel in zip(replica_masks, replica_kernels):
            np.testing.assert_array_equal(mask, expected_mask)
            np.testing.assert_array_equal(kernel, replica_kernels[0])
            assert np.all(np.array(kernel)[np.array(mask) == 0] == 0)
