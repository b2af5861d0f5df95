"""Fashion-MNIST from the Keras cache (28x28x1), never downloading unless asked to."""

import gzip
import os

import numpy as np

from ddst_tf.data.images import ImageData, fit_image_data, uint8_to_unit_range
from ddst_tf.data.keras_cache import keras_datasets_dir

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def fashion_mnist_dir():
    return keras_datasets_dir("fashion-mnist")


def missing_fashion_mnist_files():
    """The four cache files that are not in `fashion_mnist_dir()`."""
    names = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
    return [name for name in names if not os.path.exists(os.path.join(fashion_mnist_dir(), name))]


def read_idx_gz(path, magic):
    """A uint8 array from a gzipped idx file, checking its magic number (2051 images, 2049 labels)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(f"{path} is not an idx file with magic {magic} (found {found})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fashion_mnist_uint8(split, allow_download):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from the cache, or from Keras' download if allowed."""
    missing = missing_fashion_mnist_files()
    if not missing:
        image_file, label_file = FASHION_MNIST_FILES[split]
        return (read_idx_gz(os.path.join(fashion_mnist_dir(), image_file), _IDX_IMAGES_MAGIC),
                read_idx_gz(os.path.join(fashion_mnist_dir(), label_file), _IDX_LABELS_MAGIC))
    if not allow_download:
        raise FileNotFoundError(
            f"Fashion-MNIST is not in the Keras cache {fashion_mnist_dir()} (missing {missing}). "
            f"Offline: `apt-get install -y dataset-fashion-mnist` then `tools/provision_fashion_mnist.sh`; "
            f"with internet: make_dataset('fashion_mnist', allow_download=True).")
    import keras

    train, test = keras.datasets.fashion_mnist.load_data()
    return train if split == "train" else test


def load_fashion_mnist(split="train", image_size=None, fit="resize", allow_download=False):
    """Fashion-MNIST `split` (train 60k / test 10k, 28x28x1) from `$KERAS_HOME/datasets/fashion-mnist`."""
    if split not in FASHION_MNIST_FILES:
        raise ValueError(f"fashion_mnist split must be one of {sorted(FASHION_MNIST_FILES)}, got {split!r}")
    images, labels = _fashion_mnist_uint8(split, allow_download)
    data = ImageData(uint8_to_unit_range(images[..., None]), labels.astype(np.int32), FASHION_MNIST_CLASSES)
    return fit_image_data(data, image_size, fit)
