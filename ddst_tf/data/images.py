"""In-memory image sets (float32 NHWC in [-1, 1] plus int labels) and the shape helpers they share."""

import dataclasses

import numpy as np
import tensorflow as tf

from ddst_tf.data.pipeline import make_train_dataset

FIT_MODES = ("resize", "pad", "exact")
_RESIZE_CHUNK = 4096


@dataclasses.dataclass(frozen=True)
class ImageData:
    """A labelled image set: `images` float32 (N, H, W, C) in [-1, 1], `labels` int32 (N,)."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple

    def __post_init__(self):
        if self.images.ndim != 4 or self.images.dtype != np.float32:
            raise ValueError(
                f"images must be float32 NHWC, got dtype {self.images.dtype} shape {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},), got {self.labels.shape}")

    def __len__(self):
        return len(self.images)

    @property
    def image_shape(self):
        """(H, W, C) of one image."""
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self):
        return len(self.class_names)

    def train_dataset(self, global_batch_size, seed=0, input_context=None, start_step=0):
        """The training `tf.data.Dataset` over this set; see `pipeline.make_train_dataset`."""
        return make_train_dataset(self, global_batch_size, seed, input_context, start_step)


def uint8_to_unit_range(images):
    """Map uint8 pixels 0..255 to float32 in [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


def normalize_image_size(image_size):
    """`None`, an int `s` or a pair `(h, w)` -> `None` or `(h, w)` of positive ints."""
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ValueError(f"image_size must be a positive int or a (height, width) pair, got {image_size!r}")
    return int(size[0]), int(size[1])


def check_fit_mode(fit):
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")


def fit_images(images, image_size, fit="resize"):
    """Bring float images to `image_size`: bilinear resize, centre-pad with -1, or demand an exact match."""
    check_fit_mode(fit)
    size = normalize_image_size(image_size)
    source = tuple(images.shape[1:3])
    if size is None or size == source:
        return images
    if fit == "exact":
        raise ValueError(
            f"images are {source[0]}x{source[1]} but image_size={size[0]}x{size[1]} was requested "
            f"with fit='exact'; use fit='resize' or fit='pad'")
    if fit == "pad":
        if size[0] < source[0] or size[1] < source[1]:
            raise ValueError(
                f"cannot pad {source[0]}x{source[1]} images to the smaller {size[0]}x{size[1]}; "
                f"use fit='resize'")
        top, left = (size[0] - source[0]) // 2, (size[1] - source[1]) // 2
        pads = ((0, 0), (top, size[0] - source[0] - top), (left, size[1] - source[1] - left), (0, 0))
        return np.pad(images, pads, constant_values=-1.0)
    chunks = [
        tf.image.resize(images[i:i + _RESIZE_CHUNK], size, method="bilinear", antialias=True).numpy()
        for i in range(0, len(images), _RESIZE_CHUNK)
    ]
    return np.concatenate(chunks).astype(np.float32)


def fit_image_data(data, image_size, fit="resize"):
    """`ImageData` with its images passed through `fit_images`."""
    return dataclasses.replace(data, images=fit_images(data.images, image_size, fit))


def check_image_shape(dataset_shape, model_shape):
    """Raise ValueError naming both shapes unless their (H, W, C) parts agree (a batch dim is ignored)."""
    data_hwc, model_hwc = tuple(dataset_shape)[-3:], tuple(model_shape)[-3:]
    if len(data_hwc) != 3 or len(model_hwc) != 3:
        raise ValueError(
            f"image shapes must end in (H, W, C); got dataset {tuple(dataset_shape)} "
            f"and model {tuple(model_shape)}")
    if any(m is not None and d != m for d, m in zip(data_hwc, model_hwc)):
        raise ValueError(
            f"dataset images have shape {tuple(dataset_shape)} but the model expects {tuple(model_shape)}; "
            f"pass make_dataset(image_size=...) (channels=... for image folders) or change the model")
