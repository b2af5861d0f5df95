"""Tests for ddst_tf.eval.squeezenet_extractor: the SqueezeNet v1.1 h5 weights and its features."""

import os
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.data.locations import cifar10_jpeg_zip, squeezenet_weights
from ddst_tf.eval import squeezenet_extractor

needs_squeezenet = pytest.mark.skipif(
    not os.path.isfile(squeezenet_weights()),
    reason=f"SqueezeNet weights not at {squeezenet_weights()} (shared data is optional)")


@pytest.fixture(scope="module")
def squeezenet():
    return squeezenet_extractor.SqueezeNetExtractor(image_size=112)


def _natural_ish_images():
    """A smooth colour gradient, a checkerboard and noise: visually different 32x32 RGB images."""
    ramp = np.linspace(-1, 1, 32, dtype=np.float32)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], -ramp[None, :]), axis=-1)
    checker = np.where((np.add.outer(np.arange(32), np.arange(32)) // 4) % 2 == 0, 0.9, -0.9)
    checker = np.repeat(checker[..., None], 3, axis=-1).astype(np.float32)
    noise = np.random.RandomState(5).uniform(-1, 1, (32, 32, 3)).astype(np.float32)
    return np.stack([gradient, checker, noise])


@needs_squeezenet
def test_squeezenet_loads_the_h5_weights_by_group_name(squeezenet):
    import h5py
    with h5py.File(squeezenet_weights(), "r") as weights_file:
        group = weights_file["fire9/expand3x3"]
        kernel = group[group.attrs["weight_names"][0].decode()][()]
    np.testing.assert_array_equal(squeezenet.model.get_layer("fire9_expand3x3").kernel.numpy(), kernel)
    assert squeezenet.model.count_params() == 722496


@needs_squeezenet
def test_squeezenet_features_are_512_d_deterministic_and_tell_images_apart(squeezenet):
    images = _natural_ish_images()
    out = squeezenet(np.concatenate([images, images[:1]]), batch_size=2)
    assert out["pool"].shape == (4, 512) and out["logits"] is None
    np.testing.assert_allclose(out["pool"][3], out["pool"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(squeezenet(images, 3)["pool"], squeezenet(images, 3)["pool"])
    pool = out["pool"][:3]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert np.linalg.norm(pool[i] - pool[j]) > 0.1 * np.linalg.norm(pool[i]), (i, j)


def _cifar_jpeg_class(archive, split, class_name, count):
    """The first `count` images (sorted names) of one class of the CIFAR-10 JPEG copy, in [-1, 1]."""
    prefix = f"{split}/{class_name}/"
    names = sorted(n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".jpg"))
    pixels = [tf.io.decode_jpeg(archive.read(name), channels=3).numpy() for name in names[:count]]
    return np.stack(pixels).astype(np.float32) / 127.5 - 1.0


@needs_squeezenet
@pytest.mark.skipif(not os.path.isfile(cifar10_jpeg_zip()),
                    reason=f"no CIFAR-10 JPEG copy at {cifar10_jpeg_zip()}")
def test_squeezenet_features_separate_two_cifar_classes_by_nearest_centroid(squeezenet):
    """automobile vs truck, 100 + 100 images: measured 0.82 with the ImageNet weights, 0.525 with
    random weights and 0.665 on raw pixels, so this fails if the weights are loaded wrongly."""
    with zipfile.ZipFile(cifar10_jpeg_zip()) as archive:
        train = [_cifar_jpeg_class(archive, "train", name, 100) for name in ("automobile", "truck")]
        test = [_cifar_jpeg_class(archive, "test", name, 100) for name in ("automobile", "truck")]
    centroids = np.stack([squeezenet(images, 100)["pool"].mean(axis=0) for images in train])
    correct = 0
    for label, images in enumerate(test):
        pool = squeezenet(images, 100)["pool"]
        distances = np.linalg.norm(pool[:, None, :] - centroids[None], axis=-1)
        correct += int(np.sum(np.argmin(distances, axis=1) == label))
    assert correct / 200 > 0.75, f"nearest-centroid accuracy {correct / 200} (chance 0.5)"
