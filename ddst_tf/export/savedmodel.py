"""SavedModel export of a (stripped) generator for TF Serving and plain TensorFlow.

Signatures:
  * ``serving_default``: ``z`` float32 [N, latent_dim] (and ``labels`` int32 [N]
    for a conditional generator) -> ``images`` float32 [N, H, W, C] in [-1, 1];
  * ``generate_from_seed``: ``seed`` int64 scalar, ``count`` int32 scalar (and
    ``labels`` int32 [count]) -> ``images``; the latents are
    ``tf.random.stateless_normal([count, latent_dim], seed=[seed, 0])``.
"""

import json
import os
import shutil
import tempfile

import tensorflow as tf

from ddst_tf.atomic_write import PARTIAL_MARK
from ddst_tf.export import sizes

INFO_NAME = "ddst_export.json"


class GeneratorServer(tf.Module):
    """Wraps a generator with the two serving functions."""

    def __init__(self, generator, latent_dim, num_classes=0):
        super().__init__(name="generator_server")
        # Save the generator's backing tf.Variables and keep the Keras model itself out
        # of TF's object tracking, as keras.export.ExportArchive does: tracking the
        # model stores every weight a second time, and without the tf.Variables
        # TFLite's converter cannot freeze the weights (its graph outputs NaN).
        self.generator_variables = [v.value for v in generator.variables]
        self._generate = lambda inputs: generator(inputs, training=False)
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        seed_spec = tf.TensorSpec([], tf.int64, name="seed")
        count_spec = tf.TensorSpec([], tf.int32, name="count")
        if self.num_classes:
            labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
            self.serving_default = tf.function(
                lambda z, labels: self._images(z, labels), input_signature=[z_spec, labels_spec])
            self.generate_from_seed = tf.function(
                lambda seed, count, labels: self._images(self._latents(seed, count), labels),
                input_signature=[seed_spec, count_spec, labels_spec])
        else:
            self.serving_default = tf.function(
                lambda z: self._images(z, None), input_signature=[z_spec])
            self.generate_from_seed = tf.function(
                lambda seed, count: self._images(self._latents(seed, count), None),
                input_signature=[seed_spec, count_spec])

    def _latents(self, seed, count):
        return tf.random.stateless_normal(
            tf.stack([count, self.latent_dim]), seed=tf.stack([seed, tf.zeros_like(seed)]))

    def _images(self, z, labels):
        inputs = [z, labels] if self.num_classes else z
        return {"images": self._generate(inputs)}


def export_saved_model(generator, output, latent_dim, num_classes=0, info=None):
    """Write a SavedModel of ``generator`` to ``output`` plus a JSON of ``info`` (with its size
    on disk and compressed) inside it; written to a fresh temporary folder beside ``output``
    and renamed, so nothing that existed is ever touched."""
    if os.path.exists(output):
        raise FileExistsError(
            f"Export path {output!r} already exists; choose a new --output or delete it")
    server = GeneratorServer(generator, latent_dim, num_classes)
    parent = os.path.dirname(os.path.abspath(output))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.normpath(output))}.",
                           suffix=PARTIAL_MARK, dir=parent)
    try:
        tf.saved_model.save(server, tmp, signatures={
            "serving_default": server.serving_default,
            "generate_from_seed": server.generate_from_seed,
        })
        info = {**(info or {}), "saved_model_bytes": sizes.size_bytes(tmp),
                "saved_model_compressed_bytes": sizes.compressed_bytes(tmp)}
        with open(os.path.join(tmp, INFO_NAME), "w") as f:
            json.dump(info, f, indent=2, sort_keys=True)
        os.rename(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output
