"""Score registry: hand-computed drop/grow scores, seeds, and inputs read from layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.layers.masked import MaskedDense
from ddst_tf.sparse import scores


def _state(weight, **kwargs):
    weight = np.asarray(weight, np.float32)
    return scores.LayerState(weight=weight, mask=(weight != 0).astype(np.float32), **kwargs)


def test_registry_names_and_lookup_errors():
    assert sorted(scores.DROP_SCORES) == ["magnitude", "set_magnitude_sign"]
    assert sorted(scores.GROW_SCORES) == ["gradient", "momentum", "random"]
    assert scores.drop_score_fn("magnitude") is scores.magnitude_score
    assert scores.grow_score_fn("random") is scores.random_score
    with pytest.raises(ValueError, match=r"'gradient'.*\['magnitude', 'set_magnitude_sign'\]"):
        scores.drop_score_fn("gradient")
    with pytest.raises(ValueError, match=r"'magnitud'.*\['gradient', 'momentum', 'random'\]"):
        scores.grow_score_fn("magnitud")
    with pytest.raises(ValueError, match="Unknown drop or grow score 'nope'"):
        scores.compute_scores("nope", [])


def test_magnitude_gradient_and_momentum_are_absolute_values():
    state = _state([[0.5, -0.25], [0.0, -2.0]],
                   gradient=np.array([[-1.0, 0.5], [3.0, 0.0]], np.float32),
                   momentum=np.array([[0.0, -0.125], [-4.0, 1.0]], np.float32))
    np.testing.assert_array_equal(scores.magnitude_score(state), [[0.5, 0.25], [0.0, 2.0]])
    np.testing.assert_array_equal(scores.gradient_score(state), [[1.0, 0.5], [3.0, 0.0]])
    np.testing.assert_array_equal(scores.momentum_score(state), [[0.0, 0.125], [4.0, 1.0]])


def test_set_magnitude_sign_ranks_each_sign_group_separately():
    # 6 positive weights, 2 negative ones, and a pruned (zero) position.
    weight = [[0.5, 0.6, 0.7, 0.8, 0.9], [1.0, -0.01, -0.02, 0.0, 0.0]]
    got = scores.set_magnitude_sign_score(_state(weight)).numpy()
    expected = [[1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6], [1.0, 1 / 2, 1.0, 0.0, 0.0]]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_set_magnitude_sign_breaks_ties_by_index():
    got = scores.set_magnitude_sign_score(_state([[0.3, -0.3, 0.3, -0.3]])).numpy()
    np.testing.assert_allclose(got, [[0.5, 0.5, 1.0, 1.0]])


def test_missing_inputs_name_the_field():
    state = _state([[1.0]])
    with pytest.raises(ValueError, match="LayerState.gradient"):
        scores.gradient_score(state)
    with pytest.raises(ValueError, match="LayerState.momentum"):
        scores.momentum_score(state)
    with pytest.raises(ValueError, match="LayerState.seed"):
        scores.random_score(state)


def test_random_scores_depend_on_seed_network_step_and_layer_only():
    shape_state = _state(np.ones((4, 5)))

    def draw(seed, network, step, layer):
        state = shape_state._replace(seed=scores.layer_seed(seed, network, step, layer))
        return scores.random_score(state).numpy()

    reference = draw(7, 0, 100, 1)
    assert reference.shape == (4, 5)
    assert np.all((reference >= 0) & (reference < 1))
    np.testing.assert_array_equal(reference, draw(7, 0, 100, 1))
    step_variable = tf.Variable(100, dtype=tf.int64)
    np.testing.assert_array_equal(reference, draw(7, 0, step_variable, 1))
    for other in [(8, 0, 100, 1), (7, 1, 100, 1), (7, 0, 101, 1), (7, 0, 100, 0)]:
        assert not np.array_equal(reference, draw(*other)), other


def test_layer_seed_inside_tf_function_matches_eager():
    compiled = tf.function(lambda step: scores.layer_seed(3, 1, step, 2))
    np.testing.assert_array_equal(compiled(tf.constant(5, tf.int64)),
                                  scores.layer_seed(3, 1, 5, 2))


def _two_layer_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), MaskedDense(4, name="a"),
                              MaskedDense(2, name="b")])
    return model, [model.layers[0], model.layers[1]]


def test_layer_states_read_kernels_masks_gradients_moments_and_seeds():
    model, layers = _two_layer_model()
    optimizer = keras.optimizers.Adam(0.1)
    x = tf.ones((2, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                  model.trainable_variables))
    gradients = [tf.ones((3, 4)), tf.ones((4, 2))]
    states = scores.layer_states(layers, gradients=gradients, optimizer=optimizer,
                                 seed=11, network_id=1, step=5)
    for index, (layer, state) in enumerate(zip(layers, states)):
        np.testing.assert_array_equal(state.weight, layer.kernel_variable.numpy())
        np.testing.assert_array_equal(state.mask, layer.mask.numpy())
        assert state.gradient is gradients[index]
        momentum = optimizer._momentums[optimizer._get_variable_index(layer.kernel_variable)]
        np.testing.assert_array_equal(state.momentum, momentum.numpy())
        assert np.any(state.momentum.numpy() != 0)
        np.testing.assert_array_equal(state.seed, scores.layer_seed(11, 1, 5, index))
    bare = scores.layer_states(layers)
    assert bare[0].gradient is None and bare[0].momentum is None and bare[0].seed is None


def test_layer_states_and_slots_reject_bad_inputs():
    _, layers = _two_layer_model()
    with pytest.raises(ValueError, match="Got 1 gradients for 2 masked layers"):
        scores.layer_states(layers, gradients=[tf.ones((3, 4))])
    with pytest.raises(ValueError, match="SGD has no Adam moments"):
        scores.optimizer_slots(keras.optimizers.SGD(), layers[0].kernel_variable)
    with pytest.raises(ValueError, match="not built"):
        scores.optimizer_slots(keras.optimizers.Adam(), layers[0].kernel_variable)
