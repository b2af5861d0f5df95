"""Write generated images for external scorers: a folder of PNG files or one .npz.

Pixels are quantised like the training sample grids: uint8 round((x + 1) * 127.5) of images in
[-1, 1]. Grey images stay one channel (PNG mode L, npz [N, H, W, 1]). Each dump is written to a
temporary path first and renamed, so a dump that exists is complete.
"""

import os
import shutil
import tempfile

import numpy as np
from PIL import Image

from ddst_tf import atomic_write

DUMP_FORMATS = ("png", "npz")
NPZ_NAME = "samples.npz"
LABELS_NAME = "labels.csv"


def to_uint8(images):
    """float [-1, 1] NHWC -> uint8 NHWC, round((x + 1) * 127.5) clipped to 0..255."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be NHWC with 1 or 3 channels, got shape {images.shape}")
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _check_labels(labels, count):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (count,):
        raise ValueError(f"labels must have shape ({count},), got {labels.shape}")
    return labels.astype(np.int32)


def _refuse_existing(path):
    if os.path.exists(path):
        raise FileExistsError(f"{path!r} already exists; choose a new dump location or delete it")


def dump_png_folder(images, labels, directory):
    """`directory`/000000.png ... (plus labels.csv `file,label` when labels are given); returns it."""
    _refuse_existing(directory)
    pixels = to_uint8(images)
    labels = _check_labels(labels, len(pixels))
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        width = max(6, len(str(len(pixels) - 1)))
        names = [f"{index:0{width}d}.png" for index in range(len(pixels))]
        for name, image in zip(names, pixels):
            Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
                os.path.join(partial, name), format="PNG")
        if labels is not None:
            with open(os.path.join(partial, LABELS_NAME), "w") as handle:
                handle.write("file,label\n")
                handle.writelines(f"{name},{label}\n" for name, label in zip(names, labels))
        os.rename(partial, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return directory


def dump_npz(images, labels, path):
    """One .npz with `images` uint8 [N, H, W, C] (and `labels` int32 [N] when given); returns path."""
    _refuse_existing(path)
    pixels = to_uint8(images)
    arrays = {"images": pixels}
    labels = _check_labels(labels, len(pixels))
    if labels is not None:
        arrays["labels"] = labels
    with atomic_write.replacing(os.path.abspath(path)) as partial:
        np.savez(partial, **arrays)
    return path


def dump_target(dump_format, dump_dir):
    """What `dump_samples` writes: the folder `dump_dir` (png) or `dump_dir`/samples.npz (npz)."""
    if dump_format not in DUMP_FORMATS:
        raise ValueError(f"dump format must be one of {DUMP_FORMATS}, got {dump_format!r}")
    return dump_dir if dump_format == "png" else os.path.join(dump_dir, NPZ_NAME)


def dump_samples(images, labels, dump_format, dump_dir):
    """Write `images` (and labels) as `dump_format` under `dump_dir`; returns `dump_target`."""
    target = dump_target(dump_format, dump_dir)
    if dump_format == "png":
        return dump_png_folder(images, labels, target)
    return dump_npz(images, labels, target)
