"""Tests for ddst_tf.eval.metrics against closed forms and independent NumPy/SciPy references."""

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import tensorflow as tf
from scipy.spatial.distance import cdist

from ddst_tf.eval import metrics


def _rng(seed=0):
    return np.random.default_rng(seed)


def _reference_fid(real, fake):
    """FID via np.cov (ddof=1) and scipy.linalg.sqrtm of the non-symmetric product."""
    mu_r, mu_f = real.mean(axis=0), fake.mean(axis=0)
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    cross = scipy.linalg.sqrtm(s_r @ s_f).real
    return np.sum((mu_r - mu_f) ** 2) + np.trace(s_r + s_f - 2.0 * cross)


def _gaussian_fid(mu1, s1, mu2, s2):
    """Closed-form Frechet distance between N(mu1, s1) and N(mu2, s2)."""
    cross = scipy.linalg.sqrtm(s1 @ s2).real
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * cross)


def _reference_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, written as explicit pair loops."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2.0 * xy


def _reference_inception_score(logits):
    p = scipy.special.softmax(logits, axis=1)
    marginal = p.mean(axis=0)
    return np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))


def _reference_precision_recall(real, fake, k):
    """Brute-force k-NN manifold precision/recall on full distance matrices."""
    def radii(x):
        return np.sort(cdist(x, x), axis=1)[:, k]

    precision = np.mean((cdist(fake, real) <= radii(real)[None, :]).any(axis=1))
    recall = np.mean((cdist(real, fake) <= radii(fake)[None, :]).any(axis=1))
    return precision, recall


# ---------------------------------------------------------------- FID

def test_fid_matches_scipy_sqrtm_reference_on_sample_moments():
    real = _rng(1).normal(size=(300, 6)) @ _rng(2).normal(size=(6, 6))
    fake = _rng(3).normal(loc=0.5, size=(250, 6)) @ _rng(4).normal(size=(6, 6))
    ours = metrics.frechet_distance_from_activations(real, fake)
    assert ours.dtype == tf.float64
    np.testing.assert_allclose(float(ours), _reference_fid(real, fake), rtol=1e-9)


def test_fid_of_large_gaussian_samples_approaches_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.0, 0.5])
    a1, a2 = _rng(5).normal(size=(3, 3)), _rng(6).normal(size=(3, 3))
    s1, s2 = a1 @ a1.T + 0.5 * np.eye(3), a2 @ a2.T + 0.2 * np.eye(3)
    real = _rng(7).multivariate_normal(mu1, s1, size=100_000)
    fake = _rng(8).multivariate_normal(mu2, s2, size=100_000)
    expected = _gaussian_fid(mu1, s1, mu2, s2)
    ours = float(metrics.frechet_distance_from_activations(real, fake))
    assert expected > 1.0
    assert ours == pytest.approx(expected, rel=0.02)


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric():
    x = _rng(9).normal(size=(64, 32)).astype(np.float32)
    y = _rng(10).normal(loc=0.3, size=(80, 32)).astype(np.float32)
    assert abs(float(metrics.frechet_distance_from_activations(x, x))) < 1e-6
    forward = float(metrics.frechet_distance_from_activations(x, y))
    backward = float(metrics.frechet_distance_from_activations(y, x))
    assert forward > 1.0
    assert forward == pytest.approx(backward, rel=1e-10)


def test_fid_runs_inside_tf_function():
    x = _rng(28).normal(size=(20, 4))
    traced = tf.function(metrics.frechet_distance_from_activations)
    # Shifting every feature by 0.3 leaves the covariance alone: FID = 4 * 0.3^2.
    assert float(traced(tf.constant(x), tf.constant(x + 0.3))) == pytest.approx(0.36, abs=1e-9)


def test_trace_sqrt_product_of_diagonal_covariances():
    # sqrt(diag(4, 9) @ diag(1, 16)) = diag(2, 12): trace 14.
    result = metrics.trace_sqrt_product(
        tf.constant(np.diag([4.0, 9.0])), tf.constant(np.diag([1.0, 16.0])))
    assert float(result) == pytest.approx(14.0, abs=1e-12)


# ---------------------------------------------------------------- KID

def test_unbiased_mmd2_matches_pair_loop_reference():
    x, y = _rng(11).normal(size=(7, 4)), _rng(12).normal(loc=0.4, size=(9, 4))
    ours = metrics.unbiased_polynomial_mmd2(tf.constant(x), tf.constant(y))
    np.testing.assert_allclose(float(ours), _reference_mmd2(x, y), rtol=1e-12)


def test_kid_with_full_size_subsets_is_the_full_unbiased_mmd2_with_zero_std():
    # Every subset is a permutation of all rows, and MMD^2 is permutation invariant.
    x, y = _rng(13).normal(size=(10, 5)), _rng(14).normal(loc=0.5, size=(10, 5))
    mean, std = metrics.kernel_inception_distance_from_activations(
        x, y, num_subsets=3, subset_size=10, seed=1)
    np.testing.assert_allclose(float(mean), _reference_mmd2(x, y), rtol=1e-10)
    assert float(std) == pytest.approx(0.0, abs=1e-10)


def test_kid_over_random_subsets_matches_numpy_reference():
    x, y = _rng(15).normal(size=(20, 3)), _rng(16).normal(loc=0.3, size=(15, 3))
    mean, std = metrics.kernel_inception_distance_from_activations(
        x, y, num_subsets=4, subset_size=6, seed=7)
    rng = np.random.RandomState(7)
    values = []
    for _ in range(4):
        fake_rows = rng.choice(15, 6, replace=False)
        real_rows = rng.choice(20, 6, replace=False)
        values.append(_reference_mmd2(x[real_rows], y[fake_rows]))
    np.testing.assert_allclose(float(mean), np.mean(values), rtol=1e-10)
    np.testing.assert_allclose(float(std), np.std(values), rtol=1e-8)
    assert float(std) > 0.0


def test_kid_of_identical_distributions_is_near_zero_and_far_below_shifted():
    x, y = _rng(17).normal(size=(400, 8)), _rng(18).normal(size=(400, 8))
    shifted = _rng(19).normal(loc=1.0, size=(400, 8))
    same, same_std = metrics.kernel_inception_distance_from_activations(
        x, y, num_subsets=10, subset_size=200)
    different, _ = metrics.kernel_inception_distance_from_activations(
        x, shifted, num_subsets=10, subset_size=200)
    assert abs(float(same)) < 0.05 * float(different)
    assert abs(float(same)) < 3.0 * float(same_std) + 1e-3


def test_kid_is_reproducible_for_a_seed():
    x, y = _rng(20).normal(size=(30, 4)), _rng(21).normal(size=(30, 4))
    first = metrics.kernel_inception_distance_from_activations(x, y, 5, 10, seed=3)
    second = metrics.kernel_inception_distance_from_activations(x, y, 5, 10, seed=3)
    other = metrics.kernel_inception_distance_from_activations(x, y, 5, 10, seed=4)
    assert float(first[0]) == float(second[0])
    assert float(first[0]) != float(other[0])


# ---------------------------------------------------------------- Inception Score

def test_uniform_logits_give_score_one():
    logits = np.zeros((12, 5))
    assert float(metrics.classifier_score_from_logits(logits)) == pytest.approx(1.0, abs=1e-12)


def test_confident_evenly_spread_logits_give_number_of_classes():
    num_classes = 7
    logits = 100.0 * np.eye(num_classes)[np.arange(70) % num_classes]
    score = metrics.classifier_score_from_logits(logits.astype(np.float32))
    assert float(score) == pytest.approx(num_classes, rel=1e-9)
    mean, std = metrics.classifier_score_and_std_from_logits(logits, num_splits=10)
    assert float(mean) == pytest.approx(num_classes, rel=1e-9)
    assert float(std) == pytest.approx(0.0, abs=1e-9)


def test_inception_score_matches_reference_including_uneven_splits():
    logits = _rng(22).normal(scale=3.0, size=(23, 6))
    np.testing.assert_allclose(
        float(metrics.classifier_score_from_logits(logits)),
        _reference_inception_score(logits), rtol=1e-12)
    bounds = [i * 23 // 4 for i in range(5)]
    split_scores = [_reference_inception_score(logits[a:b])
                    for a, b in zip(bounds[:-1], bounds[1:])]
    mean, std = metrics.classifier_score_and_std_from_logits(logits, num_splits=4)
    np.testing.assert_allclose(float(mean), np.mean(split_scores), rtol=1e-12)
    np.testing.assert_allclose(float(std), np.std(split_scores), rtol=1e-10)


# ---------------------------------------------------------------- precision / recall

def test_identical_sets_have_precision_and_recall_one():
    x = _rng(23).normal(size=(50, 4))
    precision, recall = metrics.precision_recall_from_activations(x, x, k=3, batch_size=7)
    assert (float(precision), float(recall)) == (1.0, 1.0)


def test_disjoint_far_apart_sets_have_precision_and_recall_zero():
    x = _rng(24).normal(size=(30, 4))
    y = _rng(25).normal(size=(30, 4)) + 1000.0
    precision, recall = metrics.precision_recall_from_activations(x, y, k=3)
    assert (float(precision), float(recall)) == (0.0, 0.0)


def test_hand_computed_two_dimensional_example():
    # k = 1; integer coordinates keep every squared distance exact.
    # Real a=(0,0), b=(2,0), c=(0,10). Squared radii (to the nearest other real point):
    #   a->b: 4;  b->a: 4;  c->a: 100.
    # Fake p=(-2,0), q=(1,1), s=(30,0), t=(4,1). Squared radii:
    #   p->q: 9+1=10;  q->t: 9;  s->t: 26^2+1=677;  t->q: 9.
    # Precision (fake inside some real ball, squared distance <= squared radius):
    #   p: 4 from a <= 4 yes, on the boundary only (b: 16 > 4, c: 4+100=104 > 100);
    #   q: 2 from a <= 4 yes;  t: 16+81=97 from c <= 100 yes (b: 4+1=5 > 4);
    #   s: 900 from a, 784 from b, 1000 from c: no.  -> 3/4.
    # Recall (real inside some fake ball):
    #   a: 4 from p <= 10 yes;  b: 2 from q <= 9 yes;
    #   c: 104 > 10 (p), 82 > 9 (q), 97 > 9 (t), 1000 > 677 (s): no.  -> 2/3.
    real = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 10.0]])
    fake = np.array([[-2.0, 0.0], [1.0, 1.0], [30.0, 0.0], [4.0, 1.0]])
    np.testing.assert_array_equal(
        metrics.knn_squared_radii(tf.constant(real), k=1, batch_size=2).numpy(), [4, 4, 100])
    np.testing.assert_array_equal(
        metrics.knn_squared_radii(tf.constant(fake), k=1, batch_size=3).numpy(), [10, 9, 677, 9])
    precision, recall = metrics.precision_recall_from_activations(real, fake, k=1)
    assert float(precision) == 0.75
    assert float(recall) == pytest.approx(2.0 / 3.0, abs=1e-15)


@pytest.mark.parametrize("batch_size", [1, 16, 1000])
def test_precision_recall_matches_brute_force_for_any_batch_size(batch_size):
    real = _rng(26).normal(size=(60, 5))
    fake = _rng(27).normal(loc=0.4, scale=1.3, size=(45, 5))
    expected = _reference_precision_recall(real, fake, k=3)
    precision, recall = metrics.precision_recall_from_activations(
        real, fake, k=3, batch_size=batch_size)
    assert 0.0 < expected[0] < 1.0 and 0.0 < expected[1] < 1.0
    assert (float(precision), float(recall)) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------- input validation

@pytest.mark.parametrize("call, message", [
    (lambda: metrics.frechet_distance_from_activations(np.zeros((4, 3)), np.zeros((4, 2))),
     "same number of features"),
    (lambda: metrics.frechet_distance_from_activations(np.zeros((4, 3, 1)), np.zeros((4, 3))),
     "must be 2-D"),
    (lambda: metrics.frechet_distance_from_activations(np.zeros((1, 3)), np.zeros((4, 3))),
     "at least 2 samples"),
    (lambda: metrics.kernel_inception_distance_from_activations(
        np.zeros((5, 3)), np.zeros((8, 3)), subset_size=6), "subset_size"),
    (lambda: metrics.kernel_inception_distance_from_activations(
        np.zeros((5, 3)), np.zeros((8, 3)), num_subsets=0, subset_size=2), "num_subsets"),
    (lambda: metrics.classifier_score_and_std_from_logits(np.zeros((3, 2)), num_splits=4),
     "num_splits"),
    (lambda: metrics.classifier_score_from_logits(np.array([["a", "b"]])), "real numbers"),
    (lambda: metrics.precision_recall_from_activations(
        np.zeros((3, 2)), np.zeros((5, 2)), k=3), "at least 4 samples for k=3"),
    (lambda: metrics.precision_recall_from_activations(
        np.zeros((5, 2)), np.zeros((5, 2)), k=0), "k must be a positive integer"),
])
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
