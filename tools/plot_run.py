"""Plot a training run: python tools/plot_run.py --model_dir=runs/quickstart [--output_dir=DIR]

Writes <model_dir>/plots/<panel>.png and overview.png (BR with the controller's bounds, G/D
density, losses, FID/KID, normalized training FLOPs; see ``ddst_tf.eval.run_plots``).
"""

import os

from absl import app, flags, logging

from ddst_tf.eval.run_plots import write_plots

FLAGS = flags.FLAGS


def _define_flags():
    flags.DEFINE_string("model_dir", None, "Directory of a ddst-train run.")
    flags.DEFINE_string("output_dir", None, "Where to write the PNGs (default <model_dir>/plots).")
    flags.mark_flag_as_required("model_dir")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not os.path.isdir(FLAGS.model_dir):
        raise app.UsageError(f"--model_dir {FLAGS.model_dir!r} is not a directory")
    logging.set_verbosity(logging.INFO)
    paths, notes = write_plots(FLAGS.model_dir, FLAGS.output_dir)
    for note in notes:
        logging.info("note: %s", note)
    for path in paths:
        print(path)


if __name__ == "__main__":
    _define_flags()
    app.run(main)
