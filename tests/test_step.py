"""ddst_tf.training.step and latents: iteration plans from the schedules, stateless latents."""

import numpy as np
import tensorflow as tf

from ddst_tf.training.latents import DRAWS_PER_ITERATION, LatentSampler
from ddst_tf.training.step import IterationPlan


class Every:
    def __init__(self, period):
        self.period = period

    def should_update(self, iteration):
        return iteration % self.period == 0

    def is_check_iteration(self, iteration):
        return iteration % self.period == 0


def test_plan_follows_br_frequency_and_the_schedules():
    plans = {i: IterationPlan.for_iteration(i, 2, Every(3), Every(5)) for i in range(1, 7)}
    assert plans[1] == IterationPlan()
    assert plans[2] == IterationPlan(measure_br=True)
    assert plans[3] == IterationPlan(update_g_masks=True)
    assert plans[5] == IterationPlan(check_d_density=True)
    assert plans[6] == IterationPlan(measure_br=True, update_g_masks=True)
    assert IterationPlan.for_iteration(6, None, None, None) == IterationPlan()


def test_latents_are_a_function_of_seed_skips_iteration_and_draw():
    iteration = tf.Variable(3, dtype=tf.int64)
    skips = tf.Variable(0, dtype=tf.int64)
    sampler = LatentSampler(7, 4, 0, iteration, skips, tf.distribute.get_strategy())
    z, labels = sampler(6, 2)
    assert labels is None
    np.testing.assert_array_equal(z, tf.random.stateless_normal(
        [6, 4], seed=[7, 3 * DRAWS_PER_ITERATION + 2]))
    skips.assign(1)
    assert not np.array_equal(sampler(6, 2)[0], z)
    assert LatentSampler.max_n_critic() + 3 == DRAWS_PER_ITERATION


def test_conditional_latents_draw_labels_in_range():
    sampler = LatentSampler(0, 2, 10, tf.Variable(0, dtype=tf.int64),
                            tf.Variable(0, dtype=tf.int64), tf.distribute.get_strategy())
    _, labels = sampler(64, 0)
    assert labels.dtype == tf.int32 and 0 <= int(tf.reduce_min(labels))
    assert int(tf.reduce_max(labels)) < 10
