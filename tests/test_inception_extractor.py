"""Tests for ddst_tf.eval.inception_extractor: Inception wiring on a fake graph, the graph's download."""

import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.eval import inception_extractor

FAKE_POOL_DIM, FAKE_CLASSES = 6, 5
_RNG = np.random.RandomState(0)
FAKE_PROJECTION = _RNG.randn(3, FAKE_POOL_DIM).astype(np.float32)
FAKE_SOFTMAX_WEIGHTS = _RNG.randn(FAKE_POOL_DIM, FAKE_CLASSES).astype(np.float32)
FAKE_SOFTMAX_BIASES = _RNG.randn(FAKE_CLASSES).astype(np.float32)


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
    path = tmp_path_factory.mktemp("inception") / inception_extractor.INCEPTION_GRAPH_FILENAME
    path.write_bytes(_fake_inception_graph_def().SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def fake_inception(fake_graph_path):
    return inception_extractor.InceptionExtractor(graph_path=fake_graph_path)


def _ttur_style_features(graph_path, images):
    """pool_3 and OpenAI-IS logits by feeding 'ExpandDims:0' one 0..255 image at a time in a v1 Session."""
    graph_def = inception_extractor.load_inception_graph_def(graph_path)
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


def test_missing_inception_graph_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="graph_path=.*nope.pb.*inception-2015-12-05.tgz"):
        inception_extractor.InceptionExtractor(graph_path=str(tmp_path / "nope.pb"))
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        inception_extractor.InceptionExtractor(cache_dir=str(tmp_path))


def test_inception_rejects_a_graph_without_the_wired_tensors(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [None, 3], name="ExpandDims")
    path = tmp_path / "other.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match=r"lacks the nodes \['pool_3', 'softmax/logits/MatMul'\]"):
        inception_extractor.InceptionExtractor(graph_path=str(path))


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


def test_inception_checks_its_images_and_batch_size(fake_inception):
    with pytest.raises(ValueError, match=r"\[-1, 1\].*255"):
        fake_inception(np.full((2, 8, 8, 3), 255.0, np.float32))
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        fake_inception(np.zeros((2, 8, 8, 3), np.float32), batch_size=0)


def test_inception_graph_download_keeps_only_the_graph_in_the_cache(tmp_path, fake_graph_path):
    tarball = tmp_path / "inception.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(fake_graph_path, arcname=inception_extractor.INCEPTION_GRAPH_FILENAME)
        info = tarfile.TarInfo("LICENSE")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"BSD"))
    cache = tmp_path / "cache"
    path = inception_extractor.download_inception_graph(str(cache), url=tarball.as_uri())
    assert path == inception_extractor.inception_cache_path(str(cache))
    assert os.listdir(os.path.dirname(path)) == [inception_extractor.INCEPTION_GRAPH_FILENAME]
    assert inception_extractor.resolve_inception_graph(cache_dir=str(cache)) == path
