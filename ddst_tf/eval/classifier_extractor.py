"""The `classifier` feature extractor: a small domain CNN trained (deterministically, cached on disk)
on a dataset, so that FID/KID runs offline; its numbers compare only runs with the same classifier.
"""

import hashlib
import json
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf

from ddst_tf import atomic_write, validation
from ddst_tf.data import default_cache_dir, make_dataset
from ddst_tf.eval.image_batches import check_images, run_batched

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
    given (then `image_size`/`fit` are unused). The cache key hashes the dataset name, a fingerprint
    of those four arrays, the architecture and training config, the seed and the epochs; the model is
    stored as `<cache_dir>/feature_classifiers/<dataset>-<key16>.keras` beside a JSON record with the
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
        images = check_images(images)
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"the classifier takes images of shape {self.image_shape}, got {tuple(images.shape[1:])}; "
                f"train one at this size (image_size/fit of load_or_train_classifier)")
        return run_batched(self._batch_fn, images, batch_size)
