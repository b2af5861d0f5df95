"""ddst-train: train a sparse GAN from gin files and bindings.

    ddst-train --gin_file=gin_configs/quickstart.gin --model_dir=runs/quickstart \
        --gin_bindings='GANTrainer.num_iterations = 200'

Re-running the same command resumes from the latest checkpoint in model_dir.
The strategy comes from --strategy/--num_cpu_devices/--tpu when given, else from
gin (``make_strategy.name = 'mirrored'``), else the default (one device).
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

_STRATEGY_FLAGS = {"strategy": "name", "num_cpu_devices": "num_cpu_devices", "tpu": "tpu"}


def strategy_from_flags():
    """make_strategy with the strategy flags given on the command line (gin fills the rest)."""
    from ddst_tf.training.strategies import make_strategy
    return make_strategy(**{arg: FLAGS[flag].value for flag, arg in _STRATEGY_FLAGS.items()
                            if FLAGS[flag].present})


def record_config(model_dir):
    """Store the parsed config as model_dir/config.gin (atomically), as gin_setup.parse does."""
    import gin
    os.makedirs(model_dir, exist_ok=True)
    path = os.path.join(model_dir, gin_setup.CONFIG_NAME)
    with open(path + ".tmp", "w") as f:
        f.write(gin.config_str())
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    gin_setup.parse(FLAGS.gin_file, FLAGS.gin_bindings)
    from ddst_tf.training.strategies import is_chief
    from ddst_tf.training.trainer import GANTrainer
    strategy = strategy_from_flags()
    if is_chief(strategy):
        record_config(FLAGS.model_dir)
    trainer = GANTrainer(model_dir=FLAGS.model_dir, strategy=strategy)
    metrics = trainer.train()
    logging.info("Finished at iteration %d: %s", int(trainer.iteration.numpy()), metrics)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
