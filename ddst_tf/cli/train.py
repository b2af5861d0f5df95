"""ddst-train: train a sparse GAN from gin files and bindings.

    ddst-train --gin_file=quickstart.gin --model_dir=runs/quickstart \
        --gin_bindings='GANTrainer.num_iterations = 200'
    ddst-train --list_recipes

Re-running the same command resumes from the latest checkpoint in model_dir; a run
killed at any moment and resumed ends exactly like an uninterrupted one (with the
default --deterministic). Resuming with a different config is refused with a diff
of the bindings (run-length and logging bindings may change; see
stored_config.RESUMABLE_BINDINGS) unless --allow_config_change is given; one ddst-train at a
time writes a model_dir (a second one is refused, naming the first's pid).
The strategy comes from --strategy/--num_cpu_devices/--tpu when given, else from
gin (``make_strategy.name = 'mirrored'``), else the default (one device).
A non-finite loss or state exits non-zero with the iteration and the quantity; any error a
user can cause ends with one line (--debug shows the traceback).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf import config  # noqa: E402
from ddst_tf.cli import entry  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [],
                          "Gin config files or recipe names (e.g. sngan_cifar10/adapt_relax.gin, "
                          "found in the installed recipes from any directory), applied in order.")
flags.DEFINE_boolean("list_recipes", False, "Print the recipe names --gin_file takes and exit.")
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
                     "Resume even if the config differs from the run's in bindings other than "
                     "run length, logging, retention, NaN handling and evaluation; the new "
                     "values then apply.")
flags.DEFINE_boolean("fresh_start", False,
                     "Start over in a model_dir that holds checkpoints: they are moved to "
                     "checkpoints.replaced-<time> (nothing is deleted).")

_STRATEGY_FLAGS = {"strategy": "name", "num_cpu_devices": "num_cpu_devices", "tpu": "tpu"}


def strategy_from_flags():
    """make_strategy with the strategy flags given on the command line (gin fills the rest)."""
    from ddst_tf.training.strategies import make_strategy
    return make_strategy(**{arg: FLAGS[flag].value for flag, arg in _STRATEGY_FLAGS.items()
                            if FLAGS[flag].present})


def finished_line(run_dir, iteration):
    """One line on a finished run: its densities, training FLOPs, last evaluation, outputs."""
    import json

    from ddst_tf.eval import evaluate
    with open(run_dir.run_summary) as handle:
        summary = json.load(handle)
    records = [r for r in evaluate.read_records(run_dir.root) if r["metric"] == "fid"]
    fid = (f"FID {records[-1]['value']:.2f} ({records[-1]['extractor']}, iteration "
           f"{records[-1]['iteration']}), " if records else "")
    return (f"Finished iteration {iteration}: {fid}d_G {summary['g_density']:.3f}, d_D "
            f"{summary['d_density']:.3f}, training FLOPs "
            f"{100 * summary['training_flops']['normalized']:.1f} % of dense. Outputs in "
            f"{run_dir.root}: samples/latest.png, checkpoints/, summaries/ (TensorBoard), "
            f"run_summary.json")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    if FLAGS.list_recipes:
        print("\n".join(config.recipe_names()))
        return
    if not FLAGS.model_dir:
        raise app.UsageError("--model_dir is required (the run's directory)")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required: a gin file or a recipe name such as "
                             "sngan_cifar10/adapt_relax.gin (--list_recipes lists them)")
    config.parse(FLAGS.gin_file, FLAGS.gin_bindings)
    import tensorflow as tf

    from ddst_tf import native_logs
    from ddst_tf.run_dir import RunDir
    from ddst_tf.training.strategies import is_chief
    from ddst_tf.training.trainer import GANTrainer
    with native_logs.muted_native_stderr(native_logs.wanted()):
        strategy = strategy_from_flags()  # starts TF's context
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    trainer = GANTrainer(model_dir=FLAGS.model_dir, strategy=strategy,
                         fresh_start=FLAGS.fresh_start,
                         allow_config_change=FLAGS.allow_config_change)
    trainer.train()
    if is_chief(strategy):
        logging.info("%s", finished_line(RunDir(FLAGS.model_dir),
                                         int(trainer.state.iteration.numpy())))


def run():
    entry.run_main(main, __name__)


if __name__ == "__main__":
    run()
