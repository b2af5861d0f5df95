"""Test settings shared by every test module: quiet TF, deterministic ops, no network."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402

tf.config.experimental.enable_op_determinism()
