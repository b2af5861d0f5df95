"""ddst-train: train a sparse GAN from gin files and bindings.

    ddst-train --gin_file=gin_configs/quickstart.gin --model_dir=runs/quickstart \
        --gin_bindings='GANTrainer.num_iterations = 200'

Re-running the same command resumes from the latest checkpoint in model_dir; a run
killed at any moment and resumed ends exactly like an uninterrupted one (with the
default --deterministic). Resuming with a different config is refused with a diff
of the bindings (run-length and logging bindings may change; see
config.RESUMABLE_BINDINGS) unless --allow_config_change is given.
The strategy comes from --strategy/--num_cpu_devices/--tpu when given, else from
gin (``make_strategy.name = 'mirrored'``), else the default (one device).
A non-finite loss or state exits non-zero with the iteration and the quantity.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf import config  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config files, applied in order.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied after the files.")
flags.DEFINE_string("model_dir", None, "Directory for checkpoints, summaries, samples.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy (see README 'Distributed training').")
flags.DEFINE_integer("num_cpu_devices", 0,
                     "With --strategy=mirrored: split the CPU into this many logical devices.")
flags.DEFINE_string("tpu", "", "TPU name or address for --strategy=tpu.")
flags.DEFINE_boolean("deterministic", True,
                     "Enable TF op determinism (tf.config.experimental.enable_op_determinism), "
                     "so a resumed run matches an uninterrupted one bit for bit; "
                     "--nodeterministic trades that for speed on GPU.")
flags.DEFINE_boolean("allow_config_change", False,
                     "Resume even if the config differs from model_dir/config.gin in bindings "
                     "other than run length and logging.")
flags.mark_flag_as_required("model_dir")

_STRATEGY_FLAGS = {"strategy": "name", "num_cpu_devices": "num_cpu_devices", "tpu": "tpu"}


def strategy_from_flags():
    """make_strategy with the strategy flags given on the command line (gin fills the rest)."""
    from ddst_tf.training.strategies import make_strategy
    return make_strategy(**{arg: FLAGS[flag].value for flag, arg in _STRATEGY_FLAGS.items()
                            if FLAGS[flag].present})


def check_config(model_dir, allow_change):
    """Refuse (or, allowed, log) a config that differs from the stored one of a run to resume."""
    import gin

    from ddst_tf.run_dir import RunDir
    if not RunDir(model_dir).has_checkpoint_state():
        return
    changes = config.check_resumable_config(model_dir, gin.config_str(), allow_change)
    for name, old, new in changes:
        logging.warning("Resuming with %s changed: %s -> %s", name, old, new)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    config.parse(FLAGS.gin_file, FLAGS.gin_bindings)
    try:
        check_config(FLAGS.model_dir, FLAGS.allow_config_change)
    except config.ConfigMismatchError as error:
        raise SystemExit(f"ddst-train: {error}") from None
    import tensorflow as tf

    from ddst_tf.training.nan_guard import NonFiniteError
    from ddst_tf.training.strategies import is_chief
    from ddst_tf.training.trainer import GANTrainer
    strategy = strategy_from_flags()
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    if is_chief(strategy):
        config.record_config(FLAGS.model_dir)
    trainer = GANTrainer(model_dir=FLAGS.model_dir, strategy=strategy)
    try:
        metrics = trainer.train()
    except NonFiniteError as error:
        raise SystemExit(f"ddst-train: {error}") from None
    logging.info("Finished at iteration %d: %s", int(trainer.state.iteration.numpy()), metrics)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
