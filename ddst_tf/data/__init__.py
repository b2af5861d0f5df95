"""Datasets by name (`make_dataset`), in-memory image sets, and the training tf.data pipeline."""

from ddst_tf.data.images import ImageData, check_image_shape, fit_images
from ddst_tf.data.pipeline import make_train_dataset, train_dataset_fn
from ddst_tf.data.registry import CIFAR10_JPEG_ZIP, DATASETS, default_cache_dir, make_dataset

__all__ = [
    "CIFAR10_JPEG_ZIP",
    "DATASETS",
    "ImageData",
    "check_image_shape",
    "default_cache_dir",
    "fit_images",
    "make_dataset",
    "make_train_dataset",
    "train_dataset_fn",
]
