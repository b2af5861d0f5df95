"""ddst-flops: training FLOPs of a recipe by the paper's counting rules, without training.

    ddst-flops --gin_file=sngan_cifar10/static_balance.gin --gin_bindings='D_G = 0.1' \
        [--json_out=flops.json]

Prints dense and sparse totals, normalized FLOPs and the G-only and D-only ratios
(``ddst_tf.flops.estimate``). Static recipes are exact; for recipes whose densities move
(G DST, D density control) it reports the cost at the initial densities and says so.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from ddst_tf.cli import entry  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config files or recipe names, applied in order.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied after the files.")
flags.DEFINE_list("image_shape", None,
                  "H,W,C of the images (default: the dataset's, else the model's).")
flags.DEFINE_integer("num_classes", None,
                     "Classes of a conditional model (default 10; 0 for unconditional).")
flags.DEFINE_bool("paper_convention", True, "Count D x n_critic twice, as the paper's numbers do.")
flags.DEFINE_string("json_out", None, "Also write the result as JSON here.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required: a gin file or a recipe name such as "
                             "sngan_cifar10/static_balance.gin")
    image_shape = None
    if FLAGS.image_shape:
        if len(FLAGS.image_shape) != 3 or not all(n.isdigit() for n in FLAGS.image_shape):
            raise app.UsageError(f"--image_shape must be H,W,C; got {','.join(FLAGS.image_shape)}")
        image_shape = tuple(int(n) for n in FLAGS.image_shape)
    from ddst_tf import atomic_write, config
    from ddst_tf.flops.estimate import estimate, format_report
    from ddst_tf.recipes import Recipe
    config.parse(FLAGS.gin_file, FLAGS.gin_bindings)
    result = estimate(Recipe.from_gin(), image_shape, FLAGS.num_classes, FLAGS.paper_convention)
    print(format_report(result))
    if FLAGS.json_out:
        atomic_write.write_json(FLAGS.json_out, result)


def run():
    entry.run_main(main, __name__)


if __name__ == "__main__":
    run()
