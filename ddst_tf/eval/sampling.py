"""Draw N images from a generator in batches, with reproducible latents and class labels.

Latents come from one `np.random.default_rng(seed)` stream consumed batch by batch, so a seed
gives the same N images whatever the batch size. Conditional generators get labels that are
`balanced` (each class N // num_classes or one more times, shuffled) or `uniform` (i.i.d.).
"""

import numpy as np

from ddst_tf import validation

LABEL_MODES = ("balanced", "uniform")


def sample_labels(num_samples, num_classes, mode="balanced", seed=0):
    """int32 [num_samples] class labels in [0, num_classes): `balanced` (shuffled) or `uniform`."""
    validation.positive_int("num_samples", num_samples)
    validation.positive_int("num_classes", num_classes)
    if mode not in LABEL_MODES:
        raise ValueError(f"label mode must be one of {LABEL_MODES}, got {mode!r}")
    rng = np.random.default_rng([seed, 1])
    if mode == "uniform":
        return rng.integers(0, num_classes, size=num_samples).astype(np.int32)
    return rng.permutation(np.arange(num_samples) % num_classes).astype(np.int32)


def generate_samples(generator, num_samples, latent_dim, num_classes=0, batch_size=100,
                     labels="balanced", seed=0):
    """(images float32 [N, H, W, C], labels int32 [N] or None) from `generator` in inference mode.

    `generator` takes z [B, latent_dim] (or [z, y] when `num_classes` > 0), as ddst_tf's
    generators do; z ~ N(0, I) from the seeded stream, labels from `sample_labels`.
    """
    validation.positive_int("num_samples", num_samples)
    validation.positive_int("latent_dim", latent_dim)
    validation.positive_int("batch_size", batch_size)
    validation.non_negative_int("num_classes (0: unconditional)", num_classes)
    rng = np.random.default_rng([seed, 0])
    classes = sample_labels(num_samples, num_classes, labels, seed) if num_classes else None
    batches = []
    for start in range(0, num_samples, batch_size):
        count = min(batch_size, num_samples - start)
        z = rng.standard_normal((count, latent_dim)).astype(np.float32)
        inputs = [z, classes[start:start + count]] if num_classes else z
        batches.append(np.asarray(generator(inputs, training=False), np.float32))
    return np.concatenate(batches), classes
