"""ddst-export: write the EMA generator of a training run as a SavedModel, .keras or .tflite.

    ddst-export --model_dir=runs/quickstart --output=runs/quickstart/export/saved_model
    ddst-export --model_dir=runs/quickstart --output=runs/quickstart/export/g.keras \
        --format=keras
    ddst-export --model_dir=runs/quickstart --output=runs/quickstart/export/g.tflite \
        --format=tflite

Masks (and spectral normalisation) are folded into plain Keras layers first, so
serving needs neither mask variables nor ddst_tf. The .keras and .tflite
exports write ``<output>.export_info.json`` beside the file (densities,
and for TFLite the file sizes with and without sparse encoding and the
interpreter's deviation from the Keras generator).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf.cli import entry  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Directory of a ddst-train run.")
flags.DEFINE_string("output", None, "Where to write the export (must not exist).")
flags.DEFINE_enum("format", "saved_model", ["saved_model", "keras", "tflite"],
                  "Export format: SavedModel directory, .keras file or .tflite file.")
flags.DEFINE_bool("tflite_sparsity", True,
                  "TFLite: store mostly-zero weights in the sparse format "
                  "(tf.lite.Optimize.EXPERIMENTAL_SPARSITY).")
flags.mark_flags_as_required(["model_dir", "output"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    from ddst_tf import native_logs
    from ddst_tf.export import run_export
    native_logs.start_tensorflow_context()
    info = run_export.export_run(FLAGS.model_dir, FLAGS.output, FLAGS.format,
                                 tflite_sparsity=FLAGS.tflite_sparsity)
    logging.info("Exported iteration %d of %s to %s (G density %.4f)", info["iteration"],
                 FLAGS.model_dir, FLAGS.output, info["g_density"])
    if "tflite" in info:
        logging.info("TFLite: %d bytes (%d with dense weights), max |TFLite - Keras| %.2g",
                     info["tflite"]["bytes"], info["tflite"]["dense_weights_bytes"],
                     info["tflite"]["check"]["max_abs_diff"])


def run():
    entry.run_main(main, __name__)


if __name__ == "__main__":
    run()
