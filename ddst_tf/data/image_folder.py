"""Labelled images from a folder or a .zip laid out as `root/<class>/*.jpg` or flat `root/*.jpg`."""

import io
import os
import zipfile

import numpy as np
from PIL import Image

from ddst_tf import atomic_write
from ddst_tf.data.images import (
    ImageData, check_fit_mode, fit_images, normalize_image_size, uint8_to_unit_range)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_PIL_MODES = {1: "L", 3: "RGB"}


class _DirectoryReader:
    """Files of a directory tree, addressed by '/'-separated paths relative to the root."""

    def __init__(self, root):
        self.root = root

    def names(self):
        found = []
        for folder, _, files in os.walk(self.root):
            relative = os.path.relpath(folder, self.root)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            found.extend(prefix + name for name in files)
        return found

    def read(self, name):
        with open(os.path.join(self.root, *name.split("/")), "rb") as f:
            return f.read()

    def close(self):
        pass


class _ZipReader:
    """Members of a zip archive, read without extracting."""

    def __init__(self, path):
        self.root = path
        self.archive = zipfile.ZipFile(path)

    def names(self):
        return [name for name in self.archive.namelist() if not name.endswith("/")]

    def read(self, name):
        return self.archive.read(name)

    def close(self):
        self.archive.close()


def _is_visible_image(parts):
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in parts)
    return not hidden and parts[-1].lower().endswith(IMAGE_EXTENSIONS)


def list_labelled_images(names, root, split=None):
    """(image paths, labels, class names) under `split/` of `names`: class subfolders or one flat folder."""
    prefix = "" if split is None else split.strip("/") + "/"
    inside = [name[len(prefix):].split("/") for name in sorted(names) if name.startswith(prefix)]
    if split is not None and not inside:
        top = sorted({name.split("/")[0] for name in names if "/" in name})
        raise FileNotFoundError(f"no split folder {split!r} in {root}; top-level folders: {top}")
    images = [parts for parts in inside if len(parts) <= 2 and _is_visible_image(parts)]
    flat = [parts for parts in images if len(parts) == 1]
    nested = [parts for parts in images if len(parts) == 2]
    where = f"{root}" + (f" (split {split!r})" if split else "")
    if not images:
        top = sorted({parts[0] for parts in inside if len(parts) > 1})
        raise ValueError(
            f"no {'/'.join(IMAGE_EXTENSIONS)} images in {where}; expected <root>/<class>/<image> or "
            f"<root>/<image>; subfolders found: {top} "
            f"(pass split=<subfolder> if the images are one level deeper)")
    if flat and nested:
        raise ValueError(
            f"{where} mixes images at the top level ({'/'.join(flat[0])}) with class subfolders "
            f"({'/'.join(nested[0])}); use one layout")
    if flat:
        return [prefix + parts[0] for parts in flat], np.zeros(len(flat), np.int32), ("",)
    class_names = tuple(sorted({parts[0] for parts in nested}))
    label_of = {name: index for index, name in enumerate(class_names)}
    paths = [prefix + "/".join(parts) for parts in nested]
    labels = np.array([label_of[parts[0]] for parts in nested], np.int32)
    return paths, labels, class_names


def decode_images(reader, paths, image_size, fit, channels):
    """Decode `paths` to one uint8 (N, H, W, channels) array, resizing mismatched images when fit='resize'."""
    decoded, first = [], None
    for path in paths:
        try:
            image = Image.open(io.BytesIO(reader.read(path))).convert(_PIL_MODES[channels])
        except (OSError, SyntaxError, ValueError) as error:  # PIL: UnidentifiedImageError, ...
            raise ValueError(f"cannot decode image {path} in {reader.root}: {error}; remove or "
                             f"replace the file") from None
        target = None if image_size is None else (image_size[1], image_size[0])
        if target is not None and image.size != target:
            if fit == "exact":
                raise ValueError(
                    f"{path} is {image.height}x{image.width} but image_size={image_size[0]}x{image_size[1]} "
                    f"was requested with fit='exact'; use fit='resize'")
            if fit == "resize":
                image = image.resize(target, Image.BILINEAR)
        pixels = np.asarray(image, np.uint8).reshape(image.height, image.width, channels)
        if first is None:
            first = (path, pixels.shape)
        elif pixels.shape != first[1]:
            raise ValueError(
                f"{path} is {pixels.shape[0]}x{pixels.shape[1]} but {first[0]} is "
                f"{first[1][0]}x{first[1][1]}; pass image_size=(h, w) to resize them to one size")
        decoded.append(pixels)
    return np.stack(decoded)


def _cache_path(cache_dir, zip_path, split, image_size, fit, channels):
    """An .npz name keyed by the zip's name, size and mtime plus every option that changes the pixels."""
    stat = os.stat(zip_path)
    stem = os.path.splitext(os.path.basename(zip_path))[0]
    size = "native" if image_size is None or fit != "resize" else f"{image_size[0]}x{image_size[1]}"
    where = "root" if split is None else split.strip("/").replace("/", "-")
    name = f"{stem}_{stat.st_size}_{stat.st_mtime_ns}_{where}_{size}_{channels}c.npz"
    return os.path.join(cache_dir, name)


def _decode_with_cache(root, split, image_size, fit, channels, cache_dir):
    """(uint8 images, labels, class names); via the .npz cache when `root` is a zip and `cache_dir` is set."""
    is_zip = os.path.isfile(root)
    cache = _cache_path(cache_dir, root, split, image_size, fit, channels) if is_zip and cache_dir else None
    if cache and os.path.exists(cache):
        with np.load(cache) as stored:
            return stored["images"], stored["labels"], tuple(str(c) for c in stored["class_names"])
    reader = _ZipReader(root) if is_zip else _DirectoryReader(root)
    try:
        paths, labels, class_names = list_labelled_images(reader.names(), root, split)
        images = decode_images(reader, paths, image_size, fit, channels)
    finally:
        reader.close()
    if cache:
        with atomic_write.replacing(cache) as partial:
            np.savez(partial, images=images, labels=labels, class_names=np.array(class_names))
    return images, labels, class_names


def load_image_folder(root=None, split=None, image_size=None, fit="resize", channels=3, cache_dir=None):
    """Images under `root` (a folder or .zip; `split` picks a subfolder) as float32 NHWC in [-1, 1].

    Labels index the sorted class-subfolder names; a flat folder is one class named ''. Decoded
    pixels of a zip are cached as .npz under `cache_dir` when it is given.
    """
    if root is None:
        raise ValueError("image_folder needs root=<folder or .zip of images>")
    if not os.path.exists(root):
        raise FileNotFoundError(
            f"image folder or zip not found: {root!r}; make_dataset.root must be an existing "
            f"folder of images (<root>/<class>/<image> or <root>/<image>) or a .zip of one")
    if os.path.isfile(root) and not zipfile.is_zipfile(root):
        raise ValueError(f"{root} is a file but not a zip archive; pass a folder or a .zip")
    if channels not in _PIL_MODES:
        raise ValueError(f"channels must be one of {sorted(_PIL_MODES)}, got {channels!r}")
    check_fit_mode(fit)
    size = normalize_image_size(image_size)
    images, labels, class_names = _decode_with_cache(root, split, size, fit, channels, cache_dir)
    return ImageData(fit_images(uint8_to_unit_range(images), size, fit), labels, class_names)
