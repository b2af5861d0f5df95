"""Datasets by name (`make_dataset`), in-memory image sets, and the training tf.data pipeline."""

from ddst_tf.data.images import ImageData, check_image_shape, fit_images
from ddst_tf.data.pipeline import make_train_dataset, train_dataset_fn
from ddst_tf.data.locations import cifar10_jpeg_zip, data_dir
from ddst_tf.data.registry import DATASETS, default_cache_dir, make_dataset

__all__ = [
    "DATASETS",
    "ImageData",
    "check_image_shape",
    "cifar10_jpeg_zip",
    "data_dir",
    "default_cache_dir",
    "fit_images",
    "make_dataset",
    "make_train_dataset",
    "train_dataset_fn",
]
