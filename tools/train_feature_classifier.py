"""Train (or find in the cache) the domain classifier behind the `classifier` feature extractor.

Deterministic given --seed: op determinism is switched on before anything runs. The model
goes to <cache_dir>/feature_classifiers/<dataset>-<key>.keras with a JSON record (test
accuracy, cache-key parts, training time) beside it; the record is printed.

    python tools/train_feature_classifier.py --dataset=fashion_mnist --epochs=5
"""

import json

import tensorflow as tf
from absl import app, flags

from ddst_tf.eval.classifier_extractor import (
    DEFAULT_CLASSIFIER_ARCHITECTURE, DEFAULT_CLASSIFIER_EPOCHS, DEFAULT_CLASSIFIER_TRAINING,
    classifier_cache_paths, load_or_train_classifier)

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "ddst_tf.data dataset (fashion_mnist, cifar10_jpeg, cifar10, digits).")
flags.DEFINE_integer("epochs", DEFAULT_CLASSIFIER_EPOCHS, "Training epochs (part of the cache key).")
flags.DEFINE_integer("seed", 0, "Random seed (part of the cache key).")
flags.DEFINE_string("cache_dir", None, "Cache root; default $DDST_CACHE_DIR or ~/.cache/ddst_tf.")
flags.DEFINE_integer("batch_size", DEFAULT_CLASSIFIER_TRAINING["batch_size"], "Training batch size.")
flags.DEFINE_float("learning_rate", DEFAULT_CLASSIFIER_TRAINING["learning_rate"], "Adam learning rate.")
flags.DEFINE_list("conv_filters", [str(f) for f in DEFAULT_CLASSIFIER_ARCHITECTURE["conv_filters"]],
                  "Filters of each Conv3x3+MaxPool2 block.")
flags.DEFINE_integer("dense_units", DEFAULT_CLASSIFIER_ARCHITECTURE["dense_units"],
                     "Width of the penultimate `features` layer.")
flags.DEFINE_integer("image_size", None, "Train at this square size (match the GAN's image size).")
flags.DEFINE_enum("fit", "resize", ["resize", "pad", "exact"], "How images reach --image_size.")
flags.DEFINE_integer("verbose", 2, "Keras fit verbosity.")
flags.mark_flag_as_required("dataset")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    tf.config.experimental.enable_op_determinism()
    _, record = load_or_train_classifier(
        FLAGS.dataset, FLAGS.cache_dir, epochs=FLAGS.epochs, seed=FLAGS.seed,
        architecture={"conv_filters": [int(f) for f in FLAGS.conv_filters], "dense_units": FLAGS.dense_units},
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, image_size=FLAGS.image_size,
        fit=FLAGS.fit, verbose=FLAGS.verbose)
    print(json.dumps(record, indent=2, sort_keys=True))
    print("model:", classifier_cache_paths(FLAGS.cache_dir, FLAGS.dataset, record["key"])[0])


if __name__ == "__main__":
    app.run(main)
