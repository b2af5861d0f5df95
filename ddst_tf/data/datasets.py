"""The trainer's dataset entry point: a dataset name or an already loaded `ImageData` -> `ImageData`."""

from ddst_tf.data.images import ImageData
from ddst_tf.data.registry import make_dataset


def load(dataset):
    """`make_dataset(dataset)` for a name (other options from gin); an `ImageData` is returned as is."""
    if isinstance(dataset, ImageData):
        return dataset
    if isinstance(dataset, str):
        return make_dataset(dataset)
    raise ValueError(
        f"dataset must be a dataset name or an ImageData (e.g. gin `@make_dataset()`), got {dataset!r}")
