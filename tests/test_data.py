"""Tests for ddst_tf.data: loaders, the registry, shape helpers and the training pipeline."""

import gzip
import os
import pickle
import subprocess
import zipfile

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ddst_tf.data import (
    ImageData, check_image_shape, datasets, fit_images, make_dataset, make_train_dataset,
    train_dataset_fn)
from ddst_tf.data.locations import cifar10_jpeg_zip

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


# ---------- digits


def test_digits_shapes_range_labels_and_first_pixels():
    train = make_dataset("digits")
    test = make_dataset("digits", split="test")
    assert train.images.shape == (1500, 8, 8, 1) and test.images.shape == (297, 8, 8, 1)
    assert len(make_dataset("digits", split="all")) == 1797
    assert train.images.dtype == np.float32 and train.labels.dtype == np.int32
    assert train.images.min() == -1.0 and train.images.max() == 1.0
    assert set(train.labels) == set(range(10)) and train.num_classes == 10
    # sklearn's first digit is a 0 whose top row is 0 0 5 13 9 1 0 0 (of 16): x/16*2-1.
    np.testing.assert_allclose(train.images[0, 0, :, 0], [-1, -1, -0.375, 0.625, 0.125, -0.875, -1, -1])
    assert train.labels[0] == 0


def test_digits_resize_and_pad():
    resized = make_dataset("digits", image_size=16)
    assert resized.images.shape == (1500, 16, 16, 1)
    assert resized.images.min() >= -1.0 and resized.images.max() <= 1.0
    padded = make_dataset("digits", image_size=(12, 10), fit="pad")
    assert padded.images.shape == (1500, 12, 10, 1)
    assert np.all(padded.images[:, :2] == -1.0) and np.all(padded.images[:, :, :1] == -1.0)
    np.testing.assert_array_equal(padded.images[:, 2:10, 1:9], make_dataset("digits").images)


def test_fit_errors_name_the_problem():
    images = np.zeros((2, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="8x8.*4x4.*fit='exact'"):
        fit_images(images, 4, fit="exact")
    with pytest.raises(ValueError, match="cannot pad 8x8 .* 4x4"):
        fit_images(images, 4, fit="pad")
    with pytest.raises(ValueError, match="fit must be one of"):
        fit_images(images, 4, fit="crop")
    with pytest.raises(ValueError, match="image_size must be"):
        fit_images(images, (4, 0))


# ---------- registry


def test_unknown_dataset_lists_known_ones():
    known = r"cifar10_jpeg.*digits.*fashion_mnist.*image_folder"
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'; known datasets: \['cifar10', '" + known):
        make_dataset("mnist")


def test_option_a_dataset_does_not_take_is_an_error():
    with pytest.raises(ValueError, match=r"'digits' does not take \['root'\]"):
        make_dataset("digits", root="/tmp")


def test_make_dataset_is_gin_configurable():
    gin.parse_config(["make_dataset.name = 'digits'", "make_dataset.split = 'test'",
                      "make_dataset.image_size = 16"])
    try:
        assert make_dataset().images.shape == (297, 16, 16, 1)
    finally:
        gin.clear_config()


# ---------- image_folder


def _pixels(value, size=(4, 4)):
    return np.full(size + (3,), value, np.uint8)


def _write_folder(root, layout):
    """layout: {relative path: uint8 HxWx3 array}; written as lossless PNG."""
    for relative, pixels in layout.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)


def _write_zip(path, layout):
    with zipfile.ZipFile(path, "w") as archive:
        for relative, pixels in layout.items():
            png = path.parent / "member.png"
            Image.fromarray(pixels).save(png)
            archive.write(png, relative)


CLASS_LAYOUT = {"dog/b.png": _pixels(255), "cat/a.png": _pixels(0), "dog/a.png": _pixels(51)}


def _expected_class_layout(data):
    assert data.class_names == ("cat", "dog")
    np.testing.assert_array_equal(data.labels, [0, 1, 1])  # sorted paths: cat/a, dog/a, dog/b
    np.testing.assert_allclose(data.images[:, 0, 0, 0], [-1.0, 51 / 127.5 - 1, 1.0])
    assert data.images.shape == (3, 4, 4, 3) and data.images.dtype == np.float32


def test_image_folder_class_subfolders(tmp_path):
    _write_folder(tmp_path, CLASS_LAYOUT)
    _expected_class_layout(make_dataset("image_folder", root=str(tmp_path)))


def test_image_folder_flat(tmp_path):
    _write_folder(tmp_path, {"x.png": _pixels(0), "y.jpg": _pixels(255)})
    (tmp_path / "notes.txt").write_text("not an image")
    data = make_dataset("image_folder", root=str(tmp_path), channels=1)
    assert data.images.shape == (2, 4, 4, 1) and data.class_names == ("",)
    np.testing.assert_array_equal(data.labels, [0, 0])


def test_image_folder_zip_with_split_and_cache(tmp_path):
    _write_zip(tmp_path / "set.zip", {f"train/{k}": v for k, v in CLASS_LAYOUT.items()}
               | {"test/cat/z.png": _pixels(0)})
    cache = tmp_path / "cache"
    first = make_dataset("image_folder", root=str(tmp_path / "set.zip"), split="train", cache_dir=str(cache))
    _expected_class_layout(first)
    assert len(list(cache.glob("set_*_train_native_3c.npz"))) == 1
    again = make_dataset("image_folder", root=str(tmp_path / "set.zip"), split="train", cache_dir=str(cache))
    np.testing.assert_array_equal(again.images, first.images)
    assert again.class_names == first.class_names
    flat_zip = tmp_path / "flat.zip"
    _write_zip(flat_zip, {"a.png": _pixels(0), "b.png": _pixels(0)})
    assert len(make_dataset("image_folder", root=str(flat_zip))) == 2


def test_image_folder_zip_missing_split_lists_folders(tmp_path):
    _write_zip(tmp_path / "set.zip", {"train/cat/a.png": _pixels(0)})
    with pytest.raises(FileNotFoundError, match=r"no split folder 'val'.*\['train'\]"):
        make_dataset("image_folder", root=str(tmp_path / "set.zip"), split="val")


def test_image_folder_resize_and_size_errors(tmp_path):
    _write_folder(tmp_path, {"a/big.png": _pixels(10, (6, 8)), "a/small.png": _pixels(10)})
    resized = make_dataset("image_folder", root=str(tmp_path), image_size=(5, 7))
    assert resized.images.shape == (2, 5, 7, 3)
    np.testing.assert_allclose(resized.images, 10 / 127.5 - 1, atol=1e-6)
    with pytest.raises(ValueError, match=r"a/small.png is 4x4 but a/big.png is 6x8; pass image_size"):
        make_dataset("image_folder", root=str(tmp_path))
    with pytest.raises(ValueError, match=r"a/big.png is 6x8 but image_size=4x4 .*fit='exact'"):
        make_dataset("image_folder", root=str(tmp_path), image_size=4, fit="exact")


def test_image_folder_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="image folder or zip not found: .*nowhere"):
        make_dataset("image_folder", root=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="image_folder needs root"):
        make_dataset("image_folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .png/.jpg/.jpeg images"):
        make_dataset("image_folder", root=str(tmp_path / "empty"))


@pytest.mark.skipif(not os.path.exists(cifar10_jpeg_zip()), reason=f"shared data {cifar10_jpeg_zip()} absent")
def test_cifar10_jpeg_test_split(tmp_path):
    data = make_dataset("cifar10_jpeg", split="test", cache_dir=str(tmp_path))
    assert data.images.shape == (10000, 32, 32, 3)
    assert data.class_names[:2] == ("airplane", "automobile") and data.num_classes == 10
    np.testing.assert_array_equal(np.bincount(data.labels), [1000] * 10)
    assert -1.0 <= data.images.min() < -0.9 and 0.9 < data.images.max() <= 1.0


def test_cifar10_jpeg_absent_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10 JPEG copy is not at .*missing.zip"):
        make_dataset("cifar10_jpeg", root=str(tmp_path / "missing.zip"))


# ---------- keras-cache datasets


def _write_idx_gz(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _fake_fashion_mnist(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, count in (("train", 3), ("t10k", 2)):
        images = np.arange(count * 28 * 28).reshape(count, 28, 28) % 256
        _write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images, 2051)
        _write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) + 7, 2049)


def test_fashion_mnist_from_cache(tmp_path, monkeypatch):
    _fake_fashion_mnist(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    train = make_dataset("fashion_mnist")
    assert train.images.shape == (3, 28, 28, 1) and train.num_classes == 10
    np.testing.assert_array_equal(train.labels, [7, 8, 9])
    np.testing.assert_allclose(train.images[0, 0, :3, 0], np.array([0, 1, 2]) / 127.5 - 1)
    test = make_dataset("fashion_mnist", split="test", image_size=32, fit="pad")
    assert test.images.shape == (2, 32, 32, 1)
    assert np.all(test.images[:, :2] == -1.0)
    np.testing.assert_allclose(test.images[0, 2, 2:5, 0], np.array([0, 1, 2]) / 127.5 - 1)


def test_fashion_mnist_absent_explains_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    how = r"apt-get install -y dataset-fashion-mnist.*tools/provision_fashion_mnist.sh.*allow_download=True"
    with pytest.raises(FileNotFoundError, match=how):
        make_dataset("fashion_mnist")


def test_cifar10_from_fake_cache(tmp_path, monkeypatch):
    folder = tmp_path / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = np.zeros((2, 3, 32, 32), np.uint8)
        pixels[:, 0] = 255  # red channel full on
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": pixels.reshape(2, -1), b"labels": [3, 9]}, f)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    train = make_dataset("cifar10")
    assert train.images.shape == (10, 32, 32, 3) and train.class_names[3] == "cat"
    np.testing.assert_array_equal(train.images[0, 5, 5], [1.0, -1.0, -1.0])
    np.testing.assert_array_equal(make_dataset("cifar10", split="test").labels, [3, 9])


def test_cifar10_absent_names_offline_alternative_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"cifar10_jpeg.*allow_download=True"):
        make_dataset("cifar10")


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION_MNIST), reason="dataset-fashion-mnist not installed")
def test_provision_script_links_files_and_is_idempotent(tmp_path):
    script = os.path.join(REPO_ROOT, "tools", "provision_fashion_mnist.sh")
    env = dict(os.environ, KERAS_HOME=str(tmp_path))
    first = subprocess.run(["bash", script], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(["bash", script], env=env, capture_output=True, text=True, check=True)
    assert "linked" in first.stdout and "already provisioned" in second.stdout
    assert len(list((tmp_path / "datasets" / "fashion-mnist").glob("*-ubyte.gz"))) == 4


# ---------- shape helper


def test_check_image_shape():
    check_image_shape((None, 32, 32, 3), (32, 32, 3))
    names_both = r"dataset images have shape \(60000, 28, 28, 1\) but the model expects \(None, 32, 32, 3\)"
    with pytest.raises(ValueError, match=names_both):
        check_image_shape((60000, 28, 28, 1), (None, 32, 32, 3))


# ---------- training pipeline


def _indexed_data(n=40):
    """Images whose every pixel is the example index, so batches reveal which examples they hold."""
    images = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 2, 2, 1)).copy()
    return ImageData(images, np.arange(n, dtype=np.int32) % 3, ("a", "b", "c"))


def _batch_indices(batch):
    return batch[0][:, 0, 0, 0].numpy().astype(int)


def test_train_dataset_shuffles_by_seed_repeats_and_batches():
    data = _indexed_data()
    ds = make_train_dataset(data, 8, seed=3)
    assert ds.element_spec[0].shape == (8, 2, 2, 1) and ds.element_spec[1].dtype == tf.int32
    batches = list(ds.take(10))
    epoch = np.concatenate([_batch_indices(b) for b in batches[:5]])
    assert sorted(epoch) == list(range(40)) and list(epoch) != list(range(40))
    np.testing.assert_array_equal(batches[0][1].numpy(), _batch_indices(batches[0]) % 3)
    same = list(make_train_dataset(data, 8, seed=3).take(10))
    other = list(make_train_dataset(data, 8, seed=4).take(1))
    assert all(np.array_equal(_batch_indices(a), _batch_indices(b)) for a, b in zip(batches, same))
    assert not np.array_equal(_batch_indices(batches[0]), _batch_indices(other[0]))
    second_epoch = np.concatenate([_batch_indices(b) for b in batches[5:]])
    assert sorted(second_epoch) == list(range(40)) and list(second_epoch) != list(epoch)


def test_iterator_checkpoint_restores_position(tmp_path):
    data = _indexed_data()
    iterator = iter(make_train_dataset(data, 8, seed=1))
    for _ in range(7):  # into the second epoch
        next(iterator)
    path = tf.train.Checkpoint(iterator=iterator).save(str(tmp_path / "ckpt"))
    expected = [next(iterator) for _ in range(3)]
    restored = iter(make_train_dataset(data, 8, seed=1))
    tf.train.Checkpoint(iterator=restored).restore(path).assert_consumed()
    for want in expected:
        got = next(restored)
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())


def test_start_step_resumes_the_same_stream():
    data = _indexed_data(37)  # epochs of 37 do not align with batches of 8
    stream = [_batch_indices(b) for b in make_train_dataset(data, 8, seed=5).take(12)]
    resumed = [_batch_indices(b) for b in make_train_dataset(data, 8, seed=5, start_step=9).take(3)]
    np.testing.assert_array_equal(resumed, stream[9:12])
    # One pipeline feeding 2 replicas hands out 2 per-replica batches of 4 per global step.
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)
    from_start = make_train_dataset(data, 8, seed=5, input_context=context).take(8)
    per_replica = [_batch_indices(b) for b in from_start]
    later = make_train_dataset(data, 8, seed=5, input_context=context, start_step=3).take(2)
    np.testing.assert_array_equal([_batch_indices(b) for b in later], per_replica[6:8])


def test_dataset_fn_reads_its_shard_with_per_replica_batch():
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    ds = train_dataset_fn(_indexed_data(), global_batch_size=8, seed=0)(context)
    batches = list(ds.take(5))  # the shard holds the 20 odd indices: 5 batches of 4 = one epoch
    assert all(b[0].shape == (4, 2, 2, 1) for b in batches)
    indices = np.concatenate([_batch_indices(b) for b in batches])
    assert sorted(indices) == list(range(1, 40, 2))


def test_pipeline_keeps_uint8_pixels_and_yields_the_same_float_batches(monkeypatch):
    from ddst_tf.data import pipeline
    pixels = np.random.default_rng(4).integers(0, 256, size=(40, 3, 3, 1), dtype=np.uint8)
    data = ImageData(pixels.astype(np.float32) / 127.5 - 1.0, np.zeros(40, np.int32), ("a",))
    stored, _ = pipeline._stored_pixels(data.images)
    assert stored.dtype == tf.uint8
    assert pipeline._stored_pixels(_indexed_data().images)[0].dtype == tf.float32
    compact = [b[0].numpy() for b in make_train_dataset(data, 8, seed=2).take(7)]
    monkeypatch.setattr(pipeline, "_stored_pixels",
                        lambda images: (tf.constant(images), lambda batch: batch))
    float_store = [b[0].numpy() for b in make_train_dataset(data, 8, seed=2).take(7)]
    for a, b in zip(compact, float_store):
        assert a.dtype == np.float32 and np.array_equal(a, b)


def test_pipeline_rejects_bad_batch_and_too_small_shard():
    with pytest.raises(ValueError, match="global_batch_size must be a positive int"):
        make_train_dataset(_indexed_data(), 0)
    with pytest.raises(ValueError, match="holds 5 of 5 examples, fewer than its batch of 8"):
        make_train_dataset(_indexed_data(5), 8)
    with pytest.raises(ValueError, match="start_step must be a non-negative int"):
        make_train_dataset(_indexed_data(), 8, start_step=-1)


def test_datasets_load_takes_a_name_or_image_data():
    digits = datasets.load("digits")
    assert digits.image_shape == (8, 8, 1) and digits.num_classes == 10
    assert datasets.load(digits) is digits
    with pytest.raises(ValueError, match="dataset name or an ImageData"):
        datasets.load(3)
    images, labels = next(iter(digits.train_dataset(16, seed=2)))
    assert images.shape == (16, 8, 8, 1) and labels.shape == (16,)
