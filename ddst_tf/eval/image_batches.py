"""Input checks and batching shared by the feature extractors of `ddst_tf.eval.features`: float NHWC
images in [-1, 1] with 1 or 3 channels, run in row blocks, seen by the networks as RGB in [0, 255].
"""

import numpy as np
import tensorflow as tf

from ddst_tf import validation

_RANGE_TOLERANCE = 1e-3


def check_images(images):
    """`images` as a float32 NHWC numpy array in [-1, 1] with 1 or 3 channels, or a clear error."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"images must be float NHWC with 1 or 3 channels, got dtype {array.dtype} shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError("images must hold at least one image, got 0")
    low, high = float(array.min()), float(array.max())
    if low < -1.0 - _RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            f"images must be in [-1, 1] (map uint8 with x / 127.5 - 1), got values in [{low}, {high}]")
    return array.astype(np.float32, copy=False)


def run_batched(batch_fn, images, batch_size):
    """Concatenated outputs of `batch_fn(tf float32 batch) -> (pool, logits or None)` over row blocks."""
    validation.positive_int("batch_size", batch_size)
    pools, logits = [], []
    for start in range(0, len(images), batch_size):
        pool, batch_logits = batch_fn(tf.constant(images[start:start + batch_size]))
        pools.append(np.asarray(pool, np.float32))
        if batch_logits is not None:
            logits.append(np.asarray(batch_logits, np.float32))
    return {"pool": np.concatenate(pools), "logits": np.concatenate(logits) if logits else None}


def to_rgb_0_255(images):
    """[-1, 1] images (1 or 3 channels) -> RGB float32 in [0, 255] as (x + 1) * 127.5, unquantised."""
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    return (images + 1.0) * 127.5
