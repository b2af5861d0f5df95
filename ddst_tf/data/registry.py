"""Datasets by name, behind one gin-configurable entry point `make_dataset`."""

import inspect
import os

import gin

from ddst_tf.data import locations
from ddst_tf.data.cifar10 import load_cifar10
from ddst_tf.data.digits import load_digits
from ddst_tf.data.fashion_mnist import load_fashion_mnist
from ddst_tf.data.image_folder import load_image_folder

CIFAR10_JPEG_SPLITS = ("train", "test")


def default_cache_dir():
    """`$DDST_CACHE_DIR`, else `$XDG_CACHE_HOME/ddst_tf`, else `~/.cache/ddst_tf`."""
    if os.environ.get("DDST_CACHE_DIR"):
        return os.environ["DDST_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ddst_tf")


def load_cifar10_jpeg(split="train", image_size=None, fit="resize", root=None, cache_dir=None):
    """The offline CIFAR-10 JPEG copy (`train/<class>/NNNN.jpg`, `test/...`); decoded pixels cached as .npz.

    Pixels differ from the original CIFAR-10 (JPEG quality ~75): label results "CIFAR-10 (JPEG copy)".
    """
    if split not in CIFAR10_JPEG_SPLITS:
        raise ValueError(f"cifar10_jpeg split must be one of {CIFAR10_JPEG_SPLITS}, got {split!r}")
    path = root or locations.cifar10_jpeg_zip()
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the CIFAR-10 JPEG copy is not at {path}: "
            f"{locations.missing_file_hint(locations.CIFAR10_JPEG_NAME)} (or bind "
            f"make_dataset.root = '<path of cifar10_jpg.zip>')")
    cache_dir = cache_dir or default_cache_dir()
    return load_image_folder(path, split, image_size, fit, channels=3, cache_dir=cache_dir)


DATASETS = {
    "cifar10": load_cifar10,
    "cifar10_jpeg": load_cifar10_jpeg,
    "digits": load_digits,
    "fashion_mnist": load_fashion_mnist,
    "image_folder": load_image_folder,
}


@gin.configurable
def make_dataset(name=gin.REQUIRED, split=None, image_size=None, fit="resize", root=None, channels=None,
                 allow_download=None, cache_dir=None):
    """Load dataset `name` as an `ImageData` (float32 NHWC in [-1, 1], int32 labels).

    `split` None means the dataset's default ('train', or the whole folder for image_folder).
    `image_size` (int or (h, w)) with `fit` 'resize' | 'pad' (centre-pad with -1) | 'exact'.
    `root`, `channels`, `allow_download`, `cache_dir` go only to the datasets that take them.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")
    loader = DATASETS[name]
    options = dict(root=root, channels=channels, allow_download=allow_download, cache_dir=cache_dir)
    options = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(loader).parameters
    unused = sorted(key for key in options if key not in accepted)
    if unused:
        takes = sorted(set(accepted) - {"split", "image_size", "fit"}) or "no other options"
        raise ValueError(
            f"dataset {name!r} does not take {unused}; besides split/image_size/fit it takes {takes}")
    if split is not None:
        options["split"] = split
    return loader(image_size=image_size, fit=fit, **options)
