"""CIFAR-10 (32x32x3) from the Keras cache; downloading only when explicitly allowed."""

import os
import pickle

import numpy as np

from ddst_tf.data.images import ImageData, fit_image_data, uint8_to_unit_range
from ddst_tf.data.keras_cache import keras_datasets_dir

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


def cifar10_cache_dirs():
    """Where the python batches may be: the classic tf.keras folder, then the Keras 3 extraction folder."""
    return (
        keras_datasets_dir("cifar-10-batches-py"),
        keras_datasets_dir("cifar-10-batches-py-target", "cifar-10-batches-py"),
    )


def find_cifar10_cache():
    """The first cache dir holding all six batch files, or None."""
    names = [name for batches in CIFAR10_BATCHES.values() for name in batches]
    for folder in cifar10_cache_dirs():
        if all(os.path.exists(os.path.join(folder, name)) for name in names):
            return folder
    return None


def read_cifar10_batch(path):
    """(images uint8 (N, 32, 32, 3), labels (N,)) from one pickled python batch."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"])


def _cifar10_uint8(split, allow_download):
    """(images uint8 NHWC, labels) from the cache, or from Keras' download if allowed."""
    folder = find_cifar10_cache()
    if folder is not None:
        parts = [read_cifar10_batch(os.path.join(folder, name)) for name in CIFAR10_BATCHES[split]]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if not allow_download:
        raise FileNotFoundError(
            f"CIFAR-10 is not in the Keras cache (looked in {list(cifar10_cache_dirs())}) and downloads are "
            f"off. Offline: use make_dataset('cifar10_jpeg') (the JPEG copy in $DDST_DATA_DIR); "
            f"with internet: make_dataset('cifar10', allow_download=True).")
    import keras

    train, test = keras.datasets.cifar10.load_data()
    images, labels = train if split == "train" else test
    return images, labels.reshape(-1)


def load_cifar10(split="train", image_size=None, fit="resize", allow_download=False):
    """CIFAR-10 `split` ('train' 50k or 'test' 10k) as float32 NHWC in [-1, 1]."""
    if split not in CIFAR10_BATCHES:
        raise ValueError(f"cifar10 split must be one of {sorted(CIFAR10_BATCHES)}, got {split!r}")
    images, labels = _cifar10_uint8(split, allow_download)
    data = ImageData(uint8_to_unit_range(images), labels.astype(np.int32), CIFAR10_CLASSES)
    return fit_image_data(data, image_size, fit)
