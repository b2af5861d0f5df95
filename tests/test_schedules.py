"""Drop-fraction schedules: hand-computed values, update cadence, config, bad input."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.sparse.schedules import (ConstantDropFraction, CosineDropFraction,
                                      LinearDropFraction)


def _values(schedule, steps):
    updates, fractions = zip(*(schedule(tf.constant(s, tf.int64)) for s in steps))
    return [bool(u) for u in updates], [float(f) for f in fractions]


def test_cosine_values_by_hand():
    schedule = CosineDropFraction(initial_fraction=0.5, update_every=100, end_step=1000)
    _, fractions = _values(schedule, [0, 250, 500, 1000, 1500])
    # 0.005 + 0.495 * (1 + cos(pi * t / 1000)) / 2; cos(pi/4) = 0.70710678.
    np.testing.assert_allclose(fractions, [0.5, 0.42750893, 0.2525, 0.005, 0.005],
                               rtol=1e-7)


def test_linear_and_constant_values_by_hand():
    linear = LinearDropFraction(initial_fraction=0.5, update_every=100, end_step=1000,
                                final_fraction=0.1)
    np.testing.assert_allclose(_values(linear, [0, 250, 1000, 2000])[1],
                               [0.5, 0.4, 0.1, 0.1], rtol=1e-12)
    constant = ConstantDropFraction(fraction=0.3, update_every=100, end_step=1000)
    assert _values(constant, [0, 700])[1] == [0.3, 0.3]


def test_update_cadence_skips_step_zero_and_the_last_step():
    schedule = CosineDropFraction(initial_fraction=0.5, update_every=100, end_step=1000)
    steps = [0, 1, 99, 100, 150, 200, 900, 999, 1000, 1100]
    updates, _ = _values(schedule, steps)
    assert updates == [False, False, False, True, False, True, True, False, False, False]
    uneven = ConstantDropFraction(fraction=0.3, update_every=300, end_step=1000)
    assert _values(uneven, [300, 600, 900, 1200])[0] == [True, True, True, False]


def test_schedule_inside_tf_function_with_a_step_variable():
    schedule = CosineDropFraction(initial_fraction=0.5, update_every=500, end_step=2000)
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def advance():
        step.assign_add(250)
        return schedule(step)

    results = [advance() for _ in range(8)]
    assert [bool(u) for u, _ in results] == [False, True, False, True,
                                             False, True, False, False]
    assert results[1][1].dtype == tf.float64
    np.testing.assert_allclose(float(results[3][1]), 0.2525, rtol=1e-7)


@pytest.mark.parametrize("schedule", [
    ConstantDropFraction(fraction=0.2, update_every=10, end_step=50),
    CosineDropFraction(initial_fraction=0.5, update_every=500, end_step=100000),
    LinearDropFraction(initial_fraction=0.4, update_every=5, end_step=60,
                       final_fraction=0.01),
])
def test_get_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone.get_config() == config
    steps = [0, 5, 10, 40, 50, 500, 1000]
    assert _values(clone, steps) == _values(schedule, steps)


@pytest.mark.parametrize("kwargs, message", [
    ({"update_every": 0}, "CosineDropFraction.update_every must be a positive integer; got 0"),
    ({"update_every": -5}, "CosineDropFraction.update_every must be .*got -5"),
    ({"update_every": 2.5}, r"CosineDropFraction.update_every must be an integer; got 2.5"),
    ({"end_step": 0}, "CosineDropFraction.end_step must be a positive integer; got 0"),
    ({"initial_fraction": 0.0}, r"CosineDropFraction.initial_fraction must be in \(0, 1\); got 0"),
    ({"initial_fraction": 1.2}, "initial_fraction must be .*got 1.2"),
    ({"final_fraction": 1.0}, r"CosineDropFraction.final_fraction must be in \(0, 1\); got 1"),
])
def test_bad_arguments_name_the_value(kwargs, message):
    arguments = {"initial_fraction": 0.5, "update_every": 100, "end_step": 1000, **kwargs}
    with pytest.raises(ValueError, match=message):
        CosineDropFraction(**arguments)


def test_constant_fraction_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="fraction must be .*got -0.1"):
        ConstantDropFraction(fraction=-0.1, update_every=1, end_step=2)


def test_gin_requires_the_required_parameters_and_leaves_end_step_to_the_run():
    with pytest.raises(RuntimeError, match="Required bindings .*initial_fraction"):
        CosineDropFraction(update_every=100, end_step=1000)
    gin.clear_config()
    try:
        gin.parse_config("""
            CosineDropFraction.initial_fraction = 0.5
            CosineDropFraction.update_every = 500
        """)
        schedule = CosineDropFraction(end_step=100000)
        with pytest.raises(ValueError, match="denylisted kwarg 'end_step'"):
            gin.parse_config("CosineDropFraction.end_step = 100000")
    finally:
        gin.clear_config()
    assert schedule.get_config() == {"update_every": 500, "end_step": 100000,
                                     "initial_fraction": 0.5, "final_fraction": 0.005}
