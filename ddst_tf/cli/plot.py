"""ddst-plot: plot a training run against iteration.

    ddst-plot --model_dir=runs/quickstart [--output_dir=DIR]

Writes <model_dir>/plots/<panel>.png and overview.png: BR with the controller's bounds, G and D
density, losses, FID/KID and normalized training FLOPs (``ddst_tf.eval.run_plots``).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf.cli import entry  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Directory of a ddst-train run.")
flags.DEFINE_string("output_dir", None, "Where to write the PNGs (default <model_dir>/plots).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS.model_dir:
        raise app.UsageError("--model_dir is required (the directory of a ddst-train run)")
    if not os.path.isdir(FLAGS.model_dir):
        raise app.UsageError(f"--model_dir {FLAGS.model_dir!r} is not a directory")
    logging.set_verbosity(logging.INFO)
    from ddst_tf.eval.run_plots import write_plots
    paths, notes = write_plots(FLAGS.model_dir, FLAGS.output_dir)
    for note in notes:
        logging.info("note: %s", note)
    for path in paths:
        print(path)


def run():
    entry.run_main(main, __name__)


if __name__ == "__main__":
    run()
