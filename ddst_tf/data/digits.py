"""scikit-learn's 1,797 real 8x8 handwritten digits: tiny, offline, for fast tests."""

import numpy as np

from ddst_tf.data.images import ImageData, fit_image_data

DIGITS_TRAIN_SIZE = 1500
DIGITS_SPLITS = ("train", "test", "all")
_DIGITS_MAX_VALUE = 16.0


def load_digits(split="train", image_size=None, fit="resize"):
    """Digits as float32 (N, 8, 8, 1) in [-1, 1]; 'train' = first 1500, 'test' = last 297, 'all' = 1797."""
    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits split must be one of {DIGITS_SPLITS}, got {split!r}")
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError("the 'digits' dataset needs scikit-learn: pip install scikit-learn") from error
    bunch = datasets.load_digits()
    images = (bunch.images / _DIGITS_MAX_VALUE * 2.0 - 1.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int32)
    rows = {"train": slice(0, DIGITS_TRAIN_SIZE), "test": slice(DIGITS_TRAIN_SIZE, None),
            "all": slice(None)}[split]
    data = ImageData(images[rows], labels[rows], tuple(str(d) for d in range(10)))
    return fit_image_data(data, image_size, fit)
