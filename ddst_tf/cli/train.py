"""ddst-train: train a sparse GAN from gin files and bindings.

    ddst-train --gin_file=gin_configs/quickstart.gin --model_dir=runs/quickstart \
        --gin_bindings='GANTrainer.num_iterations = 200'

Re-running the same command resumes from the latest checkpoint in model_dir.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf.cli import gin_setup  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config files, applied in order.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied after the files.")
flags.DEFINE_string("model_dir", None, "Directory for checkpoints, summaries, samples.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy (see README 'Distributed training').")
flags.DEFINE_integer("num_cpu_devices", 0,
                     "With --strategy=mirrored: split the CPU into this many logical devices.")
flags.DEFINE_string("tpu", "", "TPU name or address for --strategy=tpu.")
flags.mark_flag_as_required("model_dir")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    gin_setup.parse(FLAGS.gin_file, FLAGS.gin_bindings, model_dir=FLAGS.model_dir)
    from ddst_tf.training.strategies import make_strategy
    from ddst_tf.training.trainer import GANTrainer
    strategy = make_strategy(FLAGS.strategy, FLAGS.num_cpu_devices, FLAGS.tpu)
    trainer = GANTrainer(model_dir=FLAGS.model_dir, strategy=strategy)
    metrics = trainer.train()
    logging.info("Finished at iteration %d: %s", int(trainer.iteration.numpy()), metrics)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
