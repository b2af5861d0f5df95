"""GAN evaluation metrics (FID, KID, Inception Score, precision/recall) from features.

Following TF-GAN's `*_from_activations` / `*_from_logits` split, the caller runs the
feature extractor (no Inception download happens here) and these functions only do
the statistics. Inputs may be numpy arrays or tensors of shape
[num_samples, num_features]; all maths runs in float64 and results are float64
scalar tensors. The functions are eager-first: inside `tf.function` the sample
counts must be static.
"""

import numpy as np
import tensorflow as tf

from ddst_tf import validation


def _as_float64_matrix(values, name):
    """Converts `values` to a float64 [num_samples, num_features] tensor, or raises."""
    tensor = tf.convert_to_tensor(values)
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise ValueError(f"{name} must be real numbers, got dtype {tensor.dtype.name}.")
    if tensor.shape.rank != 2 or tensor.shape[0] is None:
        raise ValueError(
            f"{name} must be 2-D [num_samples, num_features] with a known number of "
            f"samples, got shape {tensor.shape}.")
    return tf.cast(tensor, tf.float64)


def _as_feature_pair(real, fake, min_samples, why="to estimate a covariance"):
    """Converts both feature sets, checking equal widths and at least `min_samples` rows."""
    real = _as_float64_matrix(real, "real activations")
    fake = _as_float64_matrix(fake, "fake activations")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and fake activations must have the same number of features, got "
            f"{real.shape[1]} and {fake.shape[1]}.")
    for name, tensor in (("real", real), ("fake", fake)):
        if tensor.shape[0] < min_samples:
            raise ValueError(
                f"{name} activations need at least {min_samples} samples {why}, got "
                f"{tensor.shape[0]}.")
    return real, fake


def _covariance(activations):
    """Sample covariance with the unbiased 1/(n-1) normalisation, as in TF-GAN."""
    num_samples = activations.shape[0]
    centered = activations - tf.reduce_mean(activations, axis=0)
    return tf.matmul(centered, centered, transpose_a=True) / (num_samples - 1)


def _psd_eigenvalues(symmetric):
    """Eigenvalues of a symmetric PSD matrix, with negative round-off clamped to zero."""
    symmetric = 0.5 * (symmetric + tf.transpose(symmetric))
    return tf.maximum(tf.linalg.eigvalsh(symmetric), 0.0)


def _psd_sqrt(symmetric):
    """The symmetric PSD square root S with S @ S == `symmetric`."""
    eigenvalues, eigenvectors = tf.linalg.eigh(0.5 * (symmetric + tf.transpose(symmetric)))
    roots = tf.sqrt(tf.maximum(eigenvalues, 0.0))
    return tf.matmul(eigenvectors * roots, eigenvectors, transpose_b=True)


def trace_sqrt_product(sigma, sigma_v):
    """Tr(sqrt(sigma @ sigma_v)) for covariances, computed as in TF-GAN.

    sigma @ sigma_v is not symmetric, but with A = sqrt(sigma) it has the same
    eigenvalues as the symmetric PSD A @ sigma_v @ A, so the trace is the sum of the
    square roots of those eigenvalues.
    """
    sqrt_sigma = _psd_sqrt(sigma)
    return tf.reduce_sum(
        tf.sqrt(_psd_eigenvalues(sqrt_sigma @ sigma_v @ sqrt_sigma)))


def frechet_distance_from_activations(real, fake):
    """Frechet (Inception) Distance between Gaussians fitted to two feature sets.

    Follows TF-GAN `frechet_classifier_distance_from_activations` (Heusel et al. 2017,
    arXiv 1706.08500): ||m_r - m_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) with
    1/(n-1) covariances and the trace term from `trace_sqrt_product`, in float64.
    The estimate is biased for small n, so compare models at equal sample sizes.
    """
    real, fake = _as_feature_pair(real, fake, min_samples=2)
    mean_term = tf.reduce_sum(
        tf.math.squared_difference(tf.reduce_mean(real, axis=0), tf.reduce_mean(fake, axis=0)))
    sigma_real, sigma_fake = _covariance(real), _covariance(fake)
    trace_term = (tf.linalg.trace(sigma_real) + tf.linalg.trace(sigma_fake)
                  - 2.0 * trace_sqrt_product(sigma_real, sigma_fake))
    return mean_term + trace_term


def _polynomial_kernel(x, y):
    """KID's cubic kernel k(x, y) = (x.y / d + 1)^3."""
    return (tf.matmul(x, y, transpose_b=True) / x.shape[1] + 1.0) ** 3


def unbiased_polynomial_mmd2(real, fake):
    """Unbiased MMD^2 estimate with the KID cubic kernel (diagonals of k_rr, k_ff dropped)."""
    m, n = real.shape[0], fake.shape[0]
    k_rr = _polynomial_kernel(real, real)
    k_ff = _polynomial_kernel(fake, fake)
    k_rf = _polynomial_kernel(real, fake)
    return ((tf.reduce_sum(k_rr) - tf.linalg.trace(k_rr)) / (m * (m - 1))
            + (tf.reduce_sum(k_ff) - tf.linalg.trace(k_ff)) / (n * (n - 1))
            - 2.0 * tf.reduce_mean(k_rf))


def kid_subset_indices(num_real, num_fake, num_subsets, subset_size, seed):
    """Row indices of the KID subsets: per subset, fake then real, drawn without replacement.

    Uses `np.random.RandomState(seed).choice` in the same order as the Binkowski et al.
    reference, so a seed reproduces the same subsets. Returns (real, fake) int arrays of
    shape [num_subsets, subset_size].
    """
    rng = np.random.RandomState(seed)
    fake_rows, real_rows = [], []
    for _ in range(num_subsets):
        fake_rows.append(rng.choice(num_fake, subset_size, replace=False))
        real_rows.append(rng.choice(num_real, subset_size, replace=False))
    return np.stack(real_rows), np.stack(fake_rows)


def kernel_inception_distance_from_activations(
        real, fake, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: (mean, std) of unbiased MMD^2 over random subsets.

    Follows the Binkowski et al. 2018 reference (arXiv 1801.01401,
    `polynomial_mmd_averages`, as in torch-fidelity/StyleGAN-ADA): `num_subsets` times,
    draw `subset_size` real and fake rows without replacement and take the unbiased
    MMD^2 under k(x, y) = (x.y/d + 1)^3 (the same per-block estimator as TF-GAN's
    `kernel_classifier_distance_and_std_from_activations`). The std is the population
    std (ddof=0) of the subset values, as in the reference; TF-GAN instead reports the
    standard error over disjoint blocks. Each subset costs O(subset_size^2 * d).
    """
    validation.positive_int("num_subsets", num_subsets)
    validation.positive_int("subset_size", subset_size)
    real, fake = _as_feature_pair(real, fake, min_samples=2, why="for unbiased MMD^2")
    largest = min(real.shape[0], fake.shape[0])
    if not 2 <= subset_size <= largest:
        raise ValueError(
            f"subset_size must be in [2, min(num_real, num_fake)] = [2, {largest}], got "
            f"{subset_size}.")
    real_rows, fake_rows = kid_subset_indices(
        real.shape[0], fake.shape[0], num_subsets, subset_size, seed)
    estimates = tf.stack([
        unbiased_polynomial_mmd2(tf.gather(real, real_idx), tf.gather(fake, fake_idx))
        for real_idx, fake_idx in zip(real_rows, fake_rows)])
    return tf.reduce_mean(estimates), tf.math.reduce_std(estimates)


def _as_float64_logits(logits):
    """Converts logits to a float64 [num_samples, num_classes] tensor, or raises."""
    logits = _as_float64_matrix(logits, "logits")
    if logits.shape[0] < 1:
        raise ValueError("logits must hold at least one sample, got 0.")
    return logits


def _log_classifier_score(logits):
    """E_x KL(p(y|x) || p(y)) with p(y) the mean of p(y|x) over the given logits."""
    log_p = tf.nn.log_softmax(logits, axis=1)
    p = tf.exp(log_p)
    log_marginal = tf.math.log(tf.reduce_mean(p, axis=0))
    return tf.reduce_mean(tf.reduce_sum(p * (log_p - log_marginal), axis=1))


def classifier_score_from_logits(logits):
    """Inception Score exp(E_x KL(p(y|x) || p(y))) over all logits as one set.

    Follows TF-GAN `classifier_score_from_logits` (Salimans et al. 2016,
    arXiv 1606.03498), in float64. Ranges from 1 (no confidence or no diversity) to the
    number of classes.
    """
    return tf.exp(_log_classifier_score(_as_float64_logits(logits)))


def classifier_score_and_std_from_logits(logits, num_splits=10):
    """Inception Score as usually reported: (mean, std) over `num_splits` splits.

    Follows the OpenAI improved-gan `get_inception_score`: split i holds rows
    [i*N//num_splits, (i+1)*N//num_splits), its score uses its own marginal p(y), and the
    std is the population std (ddof=0) of the split scores.
    """
    logits = _as_float64_logits(logits)
    num_samples = logits.shape[0]
    validation.positive_int("num_splits", num_splits)
    if num_splits > num_samples:
        raise ValueError(
            f"num_splits must be at most the number of samples ({num_samples}), got "
            f"{num_splits}.")
    bounds = [i * num_samples // num_splits for i in range(num_splits + 1)]
    scores = tf.stack([
        tf.exp(_log_classifier_score(logits[start:stop]))
        for start, stop in zip(bounds[:-1], bounds[1:])])
    return tf.reduce_mean(scores), tf.math.reduce_std(scores)


def _squared_distances(rows, cols):
    """Pairwise squared Euclidean distances [len(rows), len(cols)], clamped at zero."""
    row_norms = tf.reduce_sum(tf.square(rows), axis=1, keepdims=True)
    col_norms = tf.reduce_sum(tf.square(cols), axis=1)
    return tf.maximum(
        row_norms + col_norms - 2.0 * tf.matmul(rows, cols, transpose_b=True), 0.0)


def _batches(tensor, batch_size):
    """Consecutive row blocks of at most `batch_size` rows."""
    return [tensor[start:start + batch_size]
            for start in range(0, tensor.shape[0], batch_size)]


def knn_squared_radii(manifold, k, batch_size):
    """Squared distance from each row to its k-th nearest other row (self excluded)."""
    radii = []
    for block in _batches(manifold, batch_size):
        nearest = -tf.math.top_k(-_squared_distances(block, manifold), k=k + 1).values
        radii.append(nearest[:, k])
    return tf.concat(radii, axis=0)


def _fraction_inside_manifold(probes, manifold, squared_radii, batch_size):
    """Fraction of probes within the k-NN ball (boundary included) of some manifold row."""
    inside = [
        tf.reduce_any(_squared_distances(block, manifold) <= squared_radii, axis=1)
        for block in _batches(probes, batch_size)]
    return tf.reduce_mean(tf.cast(tf.concat(inside, axis=0), tf.float64))


def precision_recall_from_activations(real, fake, k=3, batch_size=1000):
    """Improved precision and recall (Kynkaanniemi et al. 2019, arXiv 1904.06991).

    Each set's manifold is the union of balls around its samples with radius the
    distance to the sample's k-th nearest neighbour in the same set. Precision is the
    fraction of fake samples inside the real manifold, recall the fraction of real
    samples inside the fake manifold, as in the NVlabs reference (`<=` on the radius).
    Distances are computed `batch_size` rows at a time, so memory is
    O(batch_size * num_samples). Returns (precision, recall).
    """
    validation.positive_int("k", k)
    validation.positive_int("batch_size", batch_size)
    real, fake = _as_feature_pair(
        real, fake, min_samples=k + 1, why=f"for k={k} nearest neighbours")
    precision = _fraction_inside_manifold(
        fake, real, knn_squared_radii(real, k, batch_size), batch_size)
    recall = _fraction_inside_manifold(
        real, fake, knn_squared_radii(fake, k, batch_size), batch_size)
    return precision, recall
