"""Tests for ddst_tf.eval.classifier_extractor: the cached, deterministically trained domain classifier."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from ddst_tf.data import make_dataset
from ddst_tf.eval import classifier_extractor, features

TINY_ARCHITECTURE = {"conv_filters": [16, 32], "dense_units": 32}
TINY_TRAINING = {"epochs": 2, "seed": 3, "architecture": TINY_ARCHITECTURE, "batch_size": 32,
                 "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    """(model, record, cache_dir) of a tiny CNN trained for 2 epochs on sklearn digits."""
    cache_dir = str(tmp_path_factory.mktemp("classifier_cache"))
    model, record = classifier_extractor.load_or_train_classifier(
        "digits", cache_dir, **TINY_TRAINING)
    return model, record, cache_dir


def test_classifier_record_holds_accuracy_key_parts_and_time(digits_classifier):
    _, record, cache_dir = digits_classifier
    model_path, record_path = classifier_extractor.classifier_cache_paths(
        cache_dir, "digits", record["key"])
    assert os.path.isfile(model_path) and model_path.endswith(".keras")
    with open(record_path) as handle:
        assert json.load(handle) == record
    assert record["test_accuracy"] > 0.6, "chance is 0.1"
    assert record["train_seconds"] > 0
    parts = record["key_parts"]
    assert parts["dataset"] == "digits" and parts["seed"] == 3 and parts["epochs"] == 2
    assert parts["architecture"] == TINY_ARCHITECTURE and parts["training"]["batch_size"] == 32
    assert record["key"] == classifier_extractor.classifier_cache_key(parts)
    assert (record["num_train"], record["num_test"], record["num_classes"]) == (1500, 297, 10)


def test_classifier_second_call_loads_the_cache_without_training(digits_classifier, monkeypatch):
    model, record, cache_dir = digits_classifier

    def fail(*args, **kwargs):
        raise AssertionError("trained although the classifier was cached")

    monkeypatch.setattr(classifier_extractor, "train_classifier", fail)
    loaded, loaded_record = classifier_extractor.load_or_train_classifier(
        "digits", cache_dir, **TINY_TRAINING)
    assert loaded_record == record
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, restored)


def test_classifier_key_changes_with_seed_epochs_data_and_architecture(digits_classifier):
    _, record, cache_dir = digits_classifier
    parts = record["key_parts"]
    for change in ({"seed": 4}, {"epochs": 3}, {"data_fingerprint": "0" * 64},
                   {"architecture": {"conv_filters": [16], "dense_units": 32}}):
        assert classifier_extractor.classifier_cache_key({**parts, **change}) != record["key"]
    with pytest.raises(FileNotFoundError, match="tools/train_feature_classifier.py --dataset=digits"):
        classifier_extractor.load_or_train_classifier(
            "digits", cache_dir, **{**TINY_TRAINING, "seed": 4}, train_if_missing=False)


def test_classifier_training_is_deterministic_given_the_seed(digits_classifier, tmp_path):
    model, record, _ = digits_classifier
    again, again_record = classifier_extractor.load_or_train_classifier(
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
    _, record = classifier_extractor.load_or_train_classifier(
        "two_levels", str(tmp_path), epochs=3, architecture={"conv_filters": [4], "dense_units": 4},
        train_test_data=(images[:48], labels[:48], images[48:], labels[48:]), learning_rate=0.05)
    assert record["key_parts"]["data_fingerprint"] == classifier_extractor.data_fingerprint(
        images[:48], labels[:48], images[48:], labels[48:])
    assert record["num_classes"] == 2 and record["num_test"] == 16
