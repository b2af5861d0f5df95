"""Masked Keras 3 layers: forward equals the zeroed plain layer, gradients, Adam, SN, config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.layers.masked import (MaskedConv2D, MaskedConv2DTranspose, MaskedDense,
                                   effective_kernel_gradients, watch_masks)

CASES = [
    (MaskedDense, keras.layers.Dense, dict(units=5), (4, 6)),
    (MaskedConv2D, keras.layers.Conv2D, dict(filters=3, kernel_size=3, padding="same"),
     (2, 6, 6, 4)),
    (MaskedConv2DTranspose, keras.layers.Conv2DTranspose,
     dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 4, 4)),
]


def _random_mask(shape, density, seed):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) < density).astype(np.float32)


def _masked(cls, kwargs, input_shape, density=0.4, seed=0, **extra):
    layer = cls(**kwargs, **extra)
    layer.build(input_shape)
    layer.mask.assign(_random_mask(layer.mask.shape, density, seed))
    layer.apply_mask()
    return layer


@pytest.mark.parametrize("cls,plain_cls,kwargs,input_shape", CASES)
def test_output_equals_plain_layer_with_zeroed_kernel(cls, plain_cls, kwargs, input_shape):
    layer = cls(**kwargs)
    layer.build(input_shape)
    raw_kernel = np.random.default_rng(1).normal(size=layer.mask.shape).astype(np.float32)
    layer.kernel_variable.assign(raw_kernel)
    mask = _random_mask(layer.mask.shape, 0.3, 2)
    layer.mask.assign(mask)  # kernel deliberately not re-masked: the forward pass must mask it
    plain = plain_cls(**kwargs)
    plain.build(input_shape)
    plain.set_weights([raw_kernel * mask, layer.bias.numpy()])
    x = tf.random.stateless_normal(input_shape, seed=(3, 4))
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,plain_cls,kwargs,input_shape", CASES)
def test_effective_kernel_gradient_is_dense_raw_gradient_is_masked(cls, plain_cls, kwargs,
                                                                   input_shape):
    layer = _masked(cls, kwargs, input_shape)
    x = tf.random.stateless_normal(input_shape, seed=(5, 6))
    with tf.GradientTape(persistent=True) as tape:
        watch_masks(tape, [layer])
        loss = tf.reduce_sum(tf.sin(layer(x)))
    raw = tape.gradient(loss, layer.kernel_variable).numpy()
    (eff,) = effective_kernel_gradients(tape, loss, [layer])
    mask = layer.mask.numpy()
    assert np.all(raw[mask == 0] == 0)
    assert np.count_nonzero(eff.numpy()) == eff.numpy().size
    np.testing.assert_allclose(raw, eff.numpy() * mask, rtol=1e-6, atol=1e-7)
    # Reference: the gradient of the same loss w.r.t. an explicit effective-kernel tensor.
    w_eff = tf.constant(layer.kernel_variable.numpy() * mask)
    plain = plain_cls(**kwargs)
    plain.build(input_shape)
    with tf.GradientTape() as tape2:
        tape2.watch(plain.kernel.value)
        plain.kernel.assign(w_eff)
        plain.bias.assign(layer.bias)
        loss2 = tf.reduce_sum(tf.sin(plain(x)))
    np.testing.assert_allclose(eff.numpy(), tape2.gradient(loss2, plain.kernel).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,plain_cls,kwargs,input_shape", CASES)
def test_pruned_weights_stay_exactly_zero_under_adam(cls, plain_cls, kwargs, input_shape):
    layer = _masked(cls, kwargs, input_shape, density=0.5)
    optimizer = keras.optimizers.Adam(learning_rate=0.05)
    x = tf.random.stateless_normal(input_shape, seed=(7, 8))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x) - 1.0))
        optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_variables),
                                      layer.trainable_variables))

    for i in range(30):
        step()
        if i == 10:  # prune more mid-run: Adam's moments for those weights are non-zero
            mask = layer.mask.numpy() * _random_mask(layer.mask.shape, 0.5, 9)
            layer.mask.assign(mask)
            layer.apply_mask()
    kernel, mask = layer.kernel_variable.numpy(), layer.mask.numpy()
    assert np.all(kernel[mask == 0] == 0)
    assert np.count_nonzero(kernel[mask == 1]) == np.count_nonzero(mask)


@pytest.mark.parametrize("cls,plain_cls,kwargs,input_shape", CASES)
def test_config_round_trip_and_mask_weight(cls, plain_cls, kwargs, input_shape):
    layer = cls(**kwargs, spectral_norm=True, name="probe")
    layer.build(input_shape)
    assert not layer.mask.trainable
    assert layer.mask.shape == layer.kernel_variable.shape
    assert layer.mask.value.aggregation == tf.VariableAggregation.ONLY_FIRST_REPLICA
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert config["spectral_norm"] is True
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is cls and restored.spectral_norm


def _as_matrix(w, axis):
    """``w`` as the (out, everything-else) matrix that spectral norm normalises."""
    return np.moveaxis(np.asarray(w, np.float64), axis, 0).reshape(w.shape[axis], -1)


def _power_iteration_error_bound(matrix, u0, iterations):
    """Upper bound on 1 - sigma_hat / sigma_1 after ``iterations`` power-iteration steps from u0.

    Writing u0 in W's left singular vectors with weights a_i, the estimate after k steps
    is sigma_hat^2 = sum a_i^2 s_i^(4k) / sum a_i^2 s_i^(4k-2) <= s_1^2, so
    1 - sigma_hat / s_1 <= 1 - sigma_hat^2 / s_1^2 <= tan^2(theta_0) (s_2 / s_1)^(4k-2),
    theta_0 being the angle between u0 and the top left singular vector.
    """
    left, singular, _ = np.linalg.svd(matrix)
    cos2 = float(np.dot(left[:, 0], u0) ** 2 / np.dot(u0, u0))
    return (1.0 - cos2) / cos2 * (singular[1] / singular[0]) ** (4 * iterations - 2)


@pytest.mark.parametrize("cls,plain_cls,kwargs,input_shape", CASES)
def test_spectral_norm_divides_the_masked_kernel_by_a_converging_estimate(
        cls, plain_cls, kwargs, input_shape):
    layer = _masked(cls, kwargs, input_shape, density=0.5, spectral_norm=True)
    rng = np.random.default_rng(11)
    layer.kernel_variable.assign(rng.normal(size=layer.mask.shape).astype(np.float32))
    layer.apply_mask()
    u0 = rng.normal(size=layer.sn_u.shape).astype(np.float32)
    layer.sn_u.assign(u0)
    axis = layer._output_axis % len(layer.mask.shape)
    masked = layer.kernel_variable.numpy() * layer.mask.numpy()
    matrix = _as_matrix(masked, axis)
    x = tf.random.stateless_normal(input_shape, seed=(1, 1))
    training_calls = 20
    for _ in range(training_calls):  # one power iteration per training call, u persisted
        layer(x, training=True)
    u_before = layer.sn_u.numpy().copy()
    effective = layer.effective_kernel(training=False).numpy()  # one more, not persisted
    np.testing.assert_array_equal(layer.sn_u.numpy(), u_before)
    # SN divides the masked kernel by the estimate from the persisted u (float32 rounding).
    v = matrix.T @ u_before
    v /= np.linalg.norm(v)
    sigma_hat = np.linalg.norm(matrix @ v)
    np.testing.assert_allclose(effective, masked / sigma_hat, rtol=1e-5, atol=1e-7)
    assert np.all(effective[layer.mask.numpy() == 0] == 0)
    # The estimate converges to sigma_1 at the rate the spectral gap allows.
    sigma_1 = np.linalg.svd(matrix, compute_uv=False)[0]
    bound = _power_iteration_error_bound(matrix, u0.astype(np.float64), training_calls + 1)
    assert bound < 0.05, "seeded case too close to degenerate to check convergence"
    float32_slack = 1e-5
    assert -float32_slack <= 1.0 - sigma_hat / sigma_1 <= bound + float32_slack


def test_bias_is_not_masked():
    layer = MaskedDense(3)
    layer.build((None, 2))
    layer.mask.assign(np.zeros((2, 3), np.float32))
    layer.bias.assign([1.0, 2.0, 3.0])
    np.testing.assert_allclose(layer(tf.ones((1, 2))).numpy(), [[1.0, 2.0, 3.0]])
    names = [w.name for w in layer.weights]
    assert names.count("mask") == 1 and "bias" in names
