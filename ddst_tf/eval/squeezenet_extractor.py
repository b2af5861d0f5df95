"""The `squeezenet` feature extractor: SqueezeNet v1.1 ImageNet conv features (512-d) from a Keras-2
h5 file, an offline FID/KID stand-in for the Inception network.
"""

import os
import re

import h5py
import keras
import tensorflow as tf

from ddst_tf.data import locations
from ddst_tf.eval.image_batches import check_images, run_batched, to_rgb_0_255

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
        rgb = tf.image.resize(to_rgb_0_255(batch), (self.image_size, self.image_size), method="bilinear")
        return self.model(caffe_preprocess(rgb), training=False), None

    def __call__(self, images, batch_size=64):
        return run_batched(self._batch_fn, check_images(images), batch_size)
