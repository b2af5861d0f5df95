"""Tests for ddst_tf.eval.features: Inception wiring on a fake graph, the cached classifier, SqueezeNet."""

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.data import make_dataset
from ddst_tf.data.locations import cifar10_jpeg_zip, squeezenet_weights
from ddst_tf.eval import features

FAKE_POOL_DIM, FAKE_CLASSES = 6, 5
_RNG = np.random.RandomState(0)
FAKE_PROJECTION = _RNG.randn(3, FAKE_POOL_DIM).astype(np.float32)
FAKE_SOFTMAX_WEIGHTS = _RNG.randn(FAKE_POOL_DIM, FAKE_CLASSES).astype(np.float32)
FAKE_SOFTMAX_BIASES = _RNG.randn(FAKE_CLASSES).astype(np.float32)
TINY_ARCHITECTURE = {"conv_filters": [16, 32], "dense_units": 32}
TINY_TRAINING = {"epochs": 2, "seed": 3, "architecture": TINY_ARCHITECTURE, "batch_size": 32,
                 "learning_rate": 3e-3}


def _fake_inception_graph_def():
    """A tiny graph named like classify_image_graph_def.pb: DecodeJpeg -> ... -> pool_3 -> softmax.

    pool_3 = mean over the 299x299 `Mul` image of each RGB channel (in float64: a float32 mean of
    89401 values is off by ~1e-3), times FAKE_PROJECTION; the
    softmax head reshapes to batch 1 and adds a bias, as the real graph does.
    """
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        decoded = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        batch = tf.expand_dims(tf.cast(decoded, tf.float32, name="Cast"), 0, name="ExpandDims")
        resized = tf.raw_ops.ResizeBilinear(images=batch, size=[299, 299], align_corners=False,
                                            half_pixel_centers=False, name="ResizeBilinear")
        scaled = tf.multiply(tf.subtract(resized, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        channel_means = tf.cast(tf.reduce_mean(tf.cast(scaled, tf.float64), axis=[1, 2]), tf.float32)
        pooled = tf.matmul(channel_means, tf.constant(FAKE_PROJECTION))
        pool_3 = tf.reshape(pooled, [-1, 1, 1, FAKE_POOL_DIM], name="pool_3")
        flat = tf.reshape(pool_3, [1, FAKE_POOL_DIM], name="pool_3/_reshape")
        matmul = tf.matmul(flat, tf.constant(FAKE_SOFTMAX_WEIGHTS, name="softmax/weights"),
                           name="softmax/logits/MatMul")
        logits = tf.nn.bias_add(matmul, tf.constant(FAKE_SOFTMAX_BIASES, name="softmax/biases"),
                                name="softmax/logits")
        tf.nn.softmax(logits, name="softmax")
    return graph.as_graph_def()


@pytest.fixture(scope="module")
def fake_graph_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / features.INCEPTION_GRAPH_FILENAME
    path.write_bytes(_fake_inception_graph_def().SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def fake_inception(fake_graph_path):
    return features.InceptionExtractor(graph_path=fake_graph_path)


def _ttur_style_features(graph_path, images):
    """pool_3 and OpenAI-IS logits by feeding 'ExpandDims:0' one 0..255 image at a time in a v1 Session."""
    graph_def = features.load_inception_graph_def(graph_path)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    pools = []
    with tf.compat.v1.Session(graph=graph) as session:
        for image in images:
            rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
            pool = session.run("pool_3:0", {"ExpandDims:0": (rgb[None] + 1.0) * 127.5})
            pools.append(pool.reshape(-1))
    pools = np.stack(pools)
    return pools, pools @ FAKE_SOFTMAX_WEIGHTS


def test_unknown_extractor_lists_known_names():
    with pytest.raises(ValueError, match=r"'alexnet'.*\['classifier', 'inception', 'squeezenet'\]"):
        features.make_extractor("alexnet")


def test_missing_inception_graph_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="graph_path=.*nope.pb.*inception-2015-12-05.tgz"):
        features.InceptionExtractor(graph_path=str(tmp_path / "nope.pb"))
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        features.InceptionExtractor(cache_dir=str(tmp_path))


def test_inception_rejects_a_graph_without_the_wired_tensors(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [None, 3], name="ExpandDims")
    path = tmp_path / "other.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match=r"lacks the nodes \['pool_3', 'softmax/logits/MatMul'\]"):
        features.InceptionExtractor(graph_path=str(path))


def test_inception_constant_colour_images_give_closed_form_pool_and_logits(fake_inception):
    colours = np.array([[-1.0, 0.0, 1.0], [0.5, -0.25, 0.75], [1.0, 1.0, 1.0]], np.float32)
    images = np.broadcast_to(colours[:, None, None, :], (3, 7, 9, 3)).copy()
    out = fake_inception(images, batch_size=2)
    graph_input = ((colours + 1.0) * 127.5 - 128.0) / 128.0
    expected_pool = graph_input @ FAKE_PROJECTION
    np.testing.assert_allclose(out["pool"], expected_pool, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["logits"], expected_pool @ FAKE_SOFTMAX_WEIGHTS, rtol=1e-5, atol=1e-5)
    assert out["pool"].dtype == np.float32 and out["logits"].shape == (3, FAKE_CLASSES)


def test_inception_matches_ttur_single_image_feeding_for_any_batch_size(fake_inception, fake_graph_path):
    images = np.random.RandomState(1).uniform(-1, 1, (5, 12, 10, 3)).astype(np.float32)
    expected_pool, expected_logits = _ttur_style_features(fake_graph_path, images)
    for batch_size in (1, 2, 5, 64):
        out = fake_inception(images, batch_size=batch_size)
        np.testing.assert_allclose(out["pool"], expected_pool, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["logits"], expected_logits, rtol=1e-5, atol=1e-5)


def test_inception_tiles_grey_images_to_rgb(fake_inception):
    grey = np.random.RandomState(2).uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(fake_inception(grey, 2)["pool"],
                               fake_inception(np.repeat(grey, 3, axis=-1), 2)["pool"], rtol=1e-6)


def test_inception_graph_download_keeps_only_the_graph_in_the_cache(tmp_path, fake_graph_path):
    tarball = tmp_path / "inception.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(fake_graph_path, arcname=features.INCEPTION_GRAPH_FILENAME)
        info = tarfile.TarInfo("LICENSE")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"BSD"))
    cache = tmp_path / "cache"
    path = features.download_inception_graph(str(cache), url=tarball.as_uri())
    assert path == features.inception_cache_path(str(cache))
    assert os.listdir(os.path.dirname(path)) == [features.INCEPTION_GRAPH_FILENAME]
    assert features.resolve_inception_graph(cache_dir=str(cache)) == path


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 8, 8), np.float32), "NHWC"),
    (np.zeros((2, 8, 8, 2), np.float32), "1 or 3 channels"),
    (np.zeros((2, 8, 8, 3), np.uint8), "float"),
    (np.zeros((0, 8, 8, 3), np.float32), "at least one"),
    (np.full((2, 8, 8, 3), 255.0, np.float32), r"\[-1, 1\].*255"),
])
def test_extractors_reject_bad_images(fake_inception, images, message):
    with pytest.raises(ValueError, match=message):
        fake_inception(images, batch_size=2)


def test_extractors_reject_bad_batch_size(fake_inception):
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        fake_inception(np.zeros((2, 8, 8, 3), np.float32), batch_size=0)


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    """(model, record, cache_dir) of a tiny CNN trained for 2 epochs on sklearn digits."""
    cache_dir = str(tmp_path_factory.mktemp("classifier_cache"))
    model, record = features.load_or_train_classifier(
        "digits", cache_dir, **TINY_TRAINING)
    return model, record, cache_dir


def test_classifier_record_holds_accuracy_key_parts_and_time(digits_classifier):
    _, record, cache_dir = digits_classifier
    model_path, record_path = features.classifier_cache_paths(cache_dir, "digits", record["key"])
    assert os.path.isfile(model_path) and model_path.endswith(".keras")
    with open(record_path) as handle:
        assert json.load(handle) == record
    assert record["test_accuracy"] > 0.6, "chance is 0.1"
    assert record["train_seconds"] > 0
    parts = record["key_parts"]
    assert parts["dataset"] == "digits" and parts["seed"] == 3 and parts["epochs"] == 2
    assert parts["architecture"] == TINY_ARCHITECTURE and parts["training"]["batch_size"] == 32
    assert record["key"] == features.classifier_cache_key(parts)
    assert (record["num_train"], record["num_test"], record["num_classes"]) == (1500, 297, 10)


def test_classifier_second_call_loads_the_cache_without_training(digits_classifier, monkeypatch):
    model, record, cache_dir = digits_classifier

    def fail(*args, **kwargs):
        raise AssertionError("trained although the classifier was cached")

    monkeypatch.setattr(features, "train_classifier", fail)
    loaded, loaded_record = features.load_or_train_classifier(
        "digits", cache_dir, **TINY_TRAINING)
    assert loaded_record == record
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, restored)


def test_classifier_key_changes_with_seed_epochs_data_and_architecture(digits_classifier):
    _, record, cache_dir = digits_classifier
    parts = record["key_parts"]
    for change in ({"seed": 4}, {"epochs": 3}, {"data_fingerprint": "0" * 64},
                   {"architecture": {"conv_filters": [16], "dense_units": 32}}):
        assert features.classifier_cache_key({**parts, **change}) != record["key"]
    with pytest.raises(FileNotFoundError, match="tools/train_feature_classifier.py --dataset=digits"):
        features.load_or_train_classifier("digits", cache_dir, **{**TINY_TRAINING, "seed": 4},
                                          train_if_missing=False)


def test_classifier_training_is_deterministic_given_the_seed(digits_classifier, tmp_path):
    model, record, _ = digits_classifier
    again, again_record = features.load_or_train_classifier(
        "digits", str(tmp_path), **TINY_TRAINING)
    assert again_record["key"] == record["key"]
    assert again_record["test_accuracy"] == record["test_accuracy"]
    for first, second in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(first, second)


def test_classifier_extractor_gives_penultimate_features_and_logits(digits_classifier):
    model, record, cache_dir = digits_classifier
    test = make_dataset("digits", split="test")
    extractor = features.make_extractor("classifier", dataset_name="digits", cache_dir=cache_dir,
                                        train_if_missing=False, **TINY_TRAINING)
    assert extractor.record == record
    out = extractor(test.images[:40], batch_size=16)
    assert out["pool"].shape == (40, TINY_ARCHITECTURE["dense_units"]) and out["logits"].shape == (40, 10)
    assert np.all(out["pool"] >= 0), "penultimate layer is ReLU"
    logits = model.predict(test.images[:40], verbose=0)
    penultimate_model = keras.Model(model.inputs, model.get_layer("features").output)
    penultimate = penultimate_model.predict(test.images[:40], verbose=0)
    np.testing.assert_allclose(out["logits"], logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["pool"], penultimate, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"takes images of shape \(8, 8, 1\), got \(16, 16, 1\)"):
        extractor(np.zeros((2, 16, 16, 1), np.float32))


@pytest.mark.integration
def test_training_tool_trains_into_the_same_cache_as_the_library(digits_classifier):
    _, record, cache_dir = digits_classifier
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                        "train_feature_classifier.py")
    result = subprocess.run(
        [sys.executable, tool, "--dataset=digits", "--epochs=2", "--seed=3", f"--cache_dir={cache_dir}",
         "--batch_size=32", "--learning_rate=0.003", "--conv_filters=16,32", "--dense_units=32",
         "--verbose=0"], capture_output=True, text=True, timeout=120, check=True)
    printed = json.loads(result.stdout[:result.stdout.rindex("}") + 1])
    assert printed == record, "the tool should find the library's cached classifier"


def test_classifier_takes_injected_arrays_instead_of_a_dataset(tmp_path):
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 2, 64).astype(np.int32)
    images = np.where(labels[:, None, None, None] == 1, 0.8, -0.8) + rng.uniform(-0.1, 0.1, (64, 4, 4, 1))
    images = images.astype(np.float32)
    _, record = features.load_or_train_classifier(
        "two_levels", str(tmp_path), epochs=3, architecture={"conv_filters": [4], "dense_units": 4},
        train_test_data=(images[:48], labels[:48], images[48:], labels[48:]), learning_rate=0.05)
    assert record["key_parts"]["data_fingerprint"] == features.data_fingerprint(
        images[:48], labels[:48], images[48:], labels[48:])
    assert record["num_classes"] == 2 and record["num_test"] == 16


needs_squeezenet = pytest.mark.skipif(
    not os.path.isfile(squeezenet_weights()),
    reason=f"SqueezeNet weights not at {squeezenet_weights()} (shared data is optional)")


@pytest.fixture(scope="module")
def squeezenet():
    return features.SqueezeNetExtractor(image_size=112)


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


@needs_squeezenet
def test_extract_runs_an_extractor_by_name(squeezenet):
    images = _natural_ish_images()
    np.testing.assert_allclose(features.extract("squeezenet", images, batch_size=2, image_size=112)["pool"],
                               squeezenet(images, batch_size=3)["pool"], rtol=1e-5, atol=1e-5)


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
