"""Sampling a generator in batches (ddst_tf.eval.sampling) and dumping samples (ddst_tf.eval.sample_dump)."""

import csv
import os

import numpy as np
import pytest
from PIL import Image

from ddst_tf.eval import sample_dump
from ddst_tf.eval.sampling import generate_samples, sample_labels

LATENT_DIM = 3


class RecordingGenerator:
    """A stand-in generator: image pixel (i, j) = tanh(z[0]) (+ label / 10 in channel 1), records calls."""

    def __init__(self, conditional=False):
        self.conditional = conditional
        self.calls = []

    def __call__(self, inputs, training):
        z, labels = inputs if self.conditional else (inputs, None)
        self.calls.append((len(z), training))
        grey = np.broadcast_to(np.tanh(z[:, :1, None, None]), (len(z), 4, 5, 1))
        if labels is None:
            return grey
        return np.concatenate([grey, np.broadcast_to(labels[:, None, None, None] / 10.0, grey.shape),
                               grey], axis=-1)


def test_samples_are_independent_of_the_batch_size_and_drawn_in_inference_mode():
    generator = RecordingGenerator()
    whole, labels = generate_samples(generator, 7, LATENT_DIM, batch_size=7, seed=4)
    batched, _ = generate_samples(generator, 7, LATENT_DIM, batch_size=3, seed=4)
    assert labels is None and whole.shape == (7, 4, 5, 1) and whole.dtype == np.float32
    np.testing.assert_array_equal(whole, batched)
    assert [count for count, _ in generator.calls] == [7, 3, 3, 1]
    assert all(training is False for _, training in generator.calls)
    z = np.random.default_rng([4, 0]).standard_normal((7, LATENT_DIM)).astype(np.float32)
    np.testing.assert_allclose(whole[:, 0, 0, 0], np.tanh(z[:, 0]), rtol=1e-6)


def test_another_seed_gives_other_samples():
    first, _ = generate_samples(RecordingGenerator(), 5, LATENT_DIM, seed=0)
    second, _ = generate_samples(RecordingGenerator(), 5, LATENT_DIM, seed=1)
    assert not np.allclose(first, second)


def test_conditional_generator_gets_the_balanced_labels_it_returns():
    images, labels = generate_samples(RecordingGenerator(conditional=True), 25, LATENT_DIM,
                                      num_classes=10, batch_size=4, seed=2)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [3] * 5 + [2] * 5)
    np.testing.assert_allclose(images[:, 0, 0, 1], labels / 10.0, rtol=1e-6)
    assert labels.dtype == np.int32 and not np.array_equal(labels, np.arange(25) % 10)


def test_uniform_labels_are_seeded_and_in_range():
    labels = sample_labels(500, 7, mode="uniform", seed=3)
    np.testing.assert_array_equal(labels, sample_labels(500, 7, mode="uniform", seed=3))
    assert labels.min() == 0 and labels.max() == 6
    assert not np.array_equal(labels, sample_labels(500, 7, mode="uniform", seed=4))


@pytest.mark.parametrize("kwargs, message", [
    ({"num_samples": 0}, "num_samples must be a positive integer; got 0"),
    ({"batch_size": 0}, "batch_size must be a positive integer; got 0"),
    ({"num_classes": -1}, r"num_classes \(0: unconditional\) must be an integer >= 0; got -1"),
    ({"num_classes": 3, "labels": "sorted"},
     r"label mode must be one of \('balanced', 'uniform'\), got 'sorted'"),
])
def test_bad_sampling_arguments_are_named(kwargs, message):
    arguments = {"num_samples": 4, "latent_dim": LATENT_DIM, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_samples(RecordingGenerator(conditional=kwargs.get("num_classes", 0) > 0), **arguments)


def test_to_uint8_rounds_like_the_sample_grids():
    images = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.2], np.float32).reshape(1, 2, 3, 1)
    # (x + 1) * 127.5 = 0, 63.75, 127.5, 191.25, 255, 280.5 -> rint (half to even), clip
    np.testing.assert_array_equal(sample_dump.to_uint8(images).ravel(), [0, 64, 128, 191, 255, 255])


def _images(count, channels):
    return np.random.default_rng(0).uniform(-1, 1, (count, 4, 5, channels)).astype(np.float32)


def test_png_dump_writes_one_readable_file_per_image_and_the_labels(tmp_path):
    images, labels = _images(3, 3), np.array([2, 0, 1])
    target = str(tmp_path / "samples")
    assert sample_dump.dump_samples(images, labels, "png", target) == target
    assert sorted(os.listdir(target)) == ["000000.png", "000001.png", "000002.png", "labels.csv"]
    for index in range(3):
        with Image.open(os.path.join(target, f"{index:06d}.png")) as image:
            assert image.format == "PNG" and image.mode == "RGB"
            np.testing.assert_array_equal(np.asarray(image), sample_dump.to_uint8(images)[index])
    with open(os.path.join(target, "labels.csv")) as handle:
        assert list(csv.reader(handle)) == [["file", "label"], ["000000.png", "2"], ["000001.png", "0"],
                                            ["000002.png", "1"]]
    assert os.listdir(tmp_path) == ["samples"]


def test_png_dump_of_grey_images_is_single_channel_without_labels(tmp_path):
    target = sample_dump.dump_png_folder(_images(2, 1), None, str(tmp_path / "grey"))
    assert sorted(os.listdir(target)) == ["000000.png", "000001.png"]
    with Image.open(os.path.join(target, "000001.png")) as image:
        assert image.mode == "L"
        np.testing.assert_array_equal(np.asarray(image), sample_dump.to_uint8(_images(2, 1))[1, ..., 0])


def test_npz_dump_holds_uint8_images_and_labels(tmp_path):
    images = _images(4, 1)
    path = sample_dump.dump_samples(images, np.arange(4), "npz", str(tmp_path / "dump"))
    assert path == str(tmp_path / "dump" / "samples.npz")
    with np.load(path) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (4, 4, 5, 1)
        np.testing.assert_array_equal(archive["images"], sample_dump.to_uint8(images))
        np.testing.assert_array_equal(archive["labels"], np.arange(4))
    assert os.listdir(tmp_path / "dump") == ["samples.npz"]


def test_dumps_refuse_to_overwrite_and_bad_formats_are_named(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken.*already exists"):
        sample_dump.dump_samples(_images(1, 1), None, "png", str(tmp_path / "taken"))
    sample_dump.dump_samples(_images(1, 1), None, "npz", str(tmp_path / "taken"))
    with pytest.raises(FileExistsError, match="samples.npz.*already exists"):
        sample_dump.dump_samples(_images(1, 1), None, "npz", str(tmp_path / "taken"))
    with pytest.raises(ValueError, match=r"dump format must be one of \('png', 'npz'\), got 'jpg'"):
        sample_dump.dump_samples(_images(1, 1), None, "jpg", str(tmp_path / "new"))
    with pytest.raises(ValueError, match=r"labels must have shape \(1,\)"):
        sample_dump.dump_samples(_images(1, 1), [0, 1], "npz", str(tmp_path / "new"))
