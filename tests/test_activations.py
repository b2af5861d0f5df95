"""ddst_tf.layers.activations: LeakyReLU equals Keras' in values and gradients, round trips."""

import keras
import numpy as np
import tensorflow as tf

from ddst_tf.layers.activations import LeakyReLU


def test_values_and_gradients_equal_keras_leaky_relu_bit_for_bit():
    x = tf.constant(np.concatenate([np.random.default_rng(3).normal(size=1000), [0.0, -0.0]]),
                    tf.float32)
    upstream = tf.constant(np.random.default_rng(4).normal(size=1002), tf.float32)
    results = []
    for layer in (LeakyReLU(negative_slope=0.2), keras.layers.LeakyReLU(negative_slope=0.2)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        results.append((y.numpy(), tape.gradient(y, x, output_gradients=upstream).numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_config_round_trip_and_bad_slope():
    layer = LeakyReLU(negative_slope=0.1, name="act")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is LeakyReLU and clone.negative_slope == 0.1 and clone.name == "act"
    try:
        LeakyReLU(negative_slope=0.0)
    except ValueError as error:
        assert "negative_slope must be > 0" in str(error)
    else:
        raise AssertionError("a zero slope was accepted")
