"""Balance ratio: known answers, ring-buffer window, tiny denominators, graph mode, checkpoints."""

import math
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from ddst_tf.balance.balance_ratio import BalanceRatio, balance_ratio_sample, check_br_config
from two_replicas import run_on_two_cpu_replicas


def _window(size):
    """A BalanceRatio whose window holds ``size`` samples (br_freq 10)."""
    return BalanceRatio(da_iters=10 * size, br_freq=10)


def test_sample_is_the_three_logit_means():
    g_post = tf.constant([[1.0], [3.0]])
    g_pre = tf.constant([[-1.0], [0.0], [-2.0]])
    real = tf.constant([[0.5], [1.5]])
    assert [float(v) for v in balance_ratio_sample(g_post, g_pre, real)] == [2.0, -1.0, 1.0]


def test_g_post_equal_to_g_pre_gives_zero():
    br = _window(2)
    fake = tf.constant([[-0.35], [-0.2]])
    br.record(*balance_ratio_sample(fake, fake, tf.constant([[0.75], [0.7]])))
    assert float(br.value()) == 0.0


def test_g_post_reaching_the_real_logit_gives_one():
    br = _window(2)
    real = tf.constant([[0.75], [0.8]])
    br.record(*balance_ratio_sample(real, tf.constant([[-0.35], [-0.4]]), real))
    assert float(br.value()) == pytest.approx(1.0, abs=1e-7)


def test_mean_of_ratios_not_ratio_of_means_and_ring_overwrite():
    br = _window(3)
    # (g_post, g_pre, real) -> alpha / beta: 1/2, 3/4, 1/2.
    for triple in [(1.0, 0.0, 2.0), (3.0, 0.0, 4.0), (0.0, -1.0, 1.0)]:
        br.record(*triple)
    assert float(br.value()) == pytest.approx((0.5 + 0.75 + 0.5) / 3)
    assert float(br.alpha_mean()) / float(br.beta_mean()) == pytest.approx((5 / 3) / (8 / 3))
    # The fourth sample (ratio 1/1) overwrites the first: ratios 3/4, 1/2, 1.
    br.record(2.0, 1.0, 2.0)
    assert float(br.value()) == pytest.approx(0.75)
    assert float(br.alpha_mean()) == pytest.approx(5 / 3)
    assert float(br.beta_mean()) == pytest.approx(7 / 3)
    assert int(br.count) == 4 and int(br.position) == 1


def test_is_full_and_partial_window_mean():
    br = _window(3)
    assert not bool(br.is_full()) and math.isnan(float(br.value()))
    br.record(1.0, 0.0, 2.0)
    br.record(3.0, 0.0, 4.0)
    assert not bool(br.is_full())
    assert float(br.value()) == pytest.approx(0.625)  # the two samples recorded so far
    br.record(0.0, -1.0, 1.0)
    assert bool(br.is_full()) and int(br.num_filled()) == 3


def test_tiny_denominator_samples_are_skipped():
    br = BalanceRatio(da_iters=30, br_freq=10, min_denominator=1e-3)
    br.record(1.0, 0.0, 2.0)  # 0.5
    br.record(0.7, 0.5, 0.5)  # beta = 0: skipped
    br.record(0.2, 0.0, 5e-4)  # |beta| < 1e-3: skipped
    assert float(br.value()) == 0.5
    assert int(br.num_valid()) == 1 and bool(br.is_full())
    # Alpha and beta means still cover every sample in the window.
    assert float(br.beta_mean()) == pytest.approx((2.0 + 0.0 + 5e-4) / 3)


def test_negative_denominator_keeps_its_sign():
    br = _window(1)
    br.record(0.5, 0.0, -1.0)
    assert float(br.value()) == -0.5


def test_window_without_valid_samples_is_nan():
    br = _window(2)
    br.record(1.0, 0.3, 0.3)
    br.record(2.0, 0.1, 0.1)
    assert math.isnan(float(br.value())) and int(br.num_valid()) == 0


def test_record_and_value_in_a_tf_function():
    graph_br, eager_br = _window(2), _window(2)
    triples = [(0.2, -0.3, 0.7), (0.1, -0.2, 0.9), (0.4, -0.1, 0.5)]

    @tf.function
    def record_all(values):
        for i in tf.range(tf.shape(values)[0]):
            graph_br.record(values[i, 0], values[i, 1], values[i, 2])
        return graph_br.value()

    graph_value = record_all(tf.constant(triples, tf.float32))
    for triple in triples:
        eager_br.record(*[tf.constant(v, tf.float32) for v in triple])
    assert float(graph_value) == float(eager_br.value())
    assert int(graph_br.count) == 3


def test_checkpoint_restore_gives_same_value_and_behaviour(tmp_path):
    br = _window(3)
    for triple in [(0.2, -0.3, 0.7), (0.1, -0.2, 0.9), (0.4, -0.1, 0.5), (0.3, 0.0, 0.6)]:
        br.record(*triple)
    path = tf.train.Checkpoint(br=br).write(str(tmp_path / "br"))
    restored = _window(3)
    tf.train.Checkpoint(br=restored).read(path).assert_consumed()
    assert float(restored.value()) == float(br.value())
    assert int(restored.count) == 4 and int(restored.position) == 1
    for module in (br, restored):
        module.record(0.5, -0.5, 1.0)
    assert float(restored.value()) == float(br.value())
    np.testing.assert_array_equal(restored.samples.numpy(), br.samples.numpy())


@settings(max_examples=15, deadline=None)
@given(size=st.integers(1, 4),
       triples=st.lists(st.tuples(*[st.floats(-3, 3, allow_nan=False)] * 3),
                        min_size=1, max_size=9))
def test_matches_a_reference_deque(size, triples):
    br = BalanceRatio(da_iters=5 * size, br_freq=5, min_denominator=1e-6)
    for triple in triples:
        br.record(*triple)
    window = np.array(triples[-size:], np.float32).astype(np.float64)
    alpha, beta = window[:, 0] - window[:, 1], window[:, 2] - window[:, 1]
    valid = np.abs(beta) >= 1e-6
    expected = np.mean(alpha[valid] / beta[valid]) if valid.any() else np.nan
    np.testing.assert_allclose(float(br.value()), expected, rtol=1e-12)
    assert bool(br.is_full()) == (len(triples) >= size)


@pytest.mark.parametrize("kwargs,message", [
    (dict(da_iters=0, br_freq=1), "da_iters"),
    (dict(da_iters=100, br_freq=True), "br_freq"),
    (dict(da_iters=10, br_freq=20), "br_freq=20 must be <= da_iters=10"),
    (dict(da_iters=100, br_freq=10, min_denominator=0.0), "min_denominator"),
])
def test_bad_configuration_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BalanceRatio(**kwargs)


def test_window_size_is_da_iters_over_br_freq():
    assert BalanceRatio(da_iters=1000, br_freq=10).window_size == 100
    assert BalanceRatio(da_iters=1005, br_freq=10).window_size == 100


def test_check_br_config_follows_the_official_assertion():
    check_br_config(10, 1000)
    check_br_config(200, 2000)
    with pytest.raises(ValueError, match=r"br_freq=101 is too large for .*update_every=1000: "
                                         r"br_freq must be <= update_every // 10 = 100"):
        check_br_config(101, 1000)
    with pytest.raises(ValueError, match="DensityController.update_every must be a positive"):
        check_br_config(1, 0)
    with pytest.raises(ValueError, match="GANTrainer.measure_balance_ratio = False"):
        check_br_config(10, 1000, measured=False)


_MIRRORED_SCRIPT = textwrap.dedent("""
    import tensorflow as tf
    from ddst_tf.balance.balance_ratio import BalanceRatio

    with strategy.scope():
        br = BalanceRatio(da_iters=20, br_freq=10)

    @tf.function
    def record(offset):
        def replica_fn():
            context = tf.distribute.get_replica_context()
            local = tf.cast(context.replica_id_in_sync_group, tf.float32) + offset
            g_pre = context.all_reduce("mean", local)  # replicas 0, 1 -> global mean
            br.record(g_pre + 1.0, g_pre, g_pre + 4.0)
        strategy.run(replica_fn)

    for offset in (0.0, 1.0, 2.0):
        record(tf.constant(offset))
    local = lambda v: [t.numpy().tolist() for t in strategy.experimental_local_results(v)]
    print(json.dumps({"value": float(br.value()), "samples": local(br.samples),
                      "count": local(br.count)}))
""")


@pytest.mark.integration
def test_record_in_replica_context_keeps_replicas_identical():
    out = run_on_two_cpu_replicas(_MIRRORED_SCRIPT)
    # Global g_pre per record: 0.5, 1.5, 2.5; the third overwrites the first (window 2).
    expected = [[3.5, 2.5, 6.5], [2.5, 1.5, 5.5]]
    assert out["samples"] == [expected, expected] and out["count"] == [3, 3]
    assert out["value"] == 0.25
