"""Training FLOPs of a gin training recipe, by the paper's counting rules (no data loaded).

Reads the recipe's facts (``ddst_tf.recipes.Recipe``), counts with
``ddst_tf.flops.estimate`` and prints dense and sparse totals, normalized FLOPs
and the G-only and D-only ratios:

    python tools/flops.py --gin_file=gin_configs/sngan_cifar10/static_balance.gin \
        --gin_bindings='D_G = 0.1' [--json_out=flops.json]

Static recipes are exact; for recipes whose densities move the tool reports the
cost at the initial densities and says so.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from ddst_tf import atomic_write, config  # noqa: E402
from ddst_tf.flops.estimate import estimate  # noqa: E402
from ddst_tf.recipes import Recipe  # noqa: E402

FLAGS = flags.FLAGS


def parse_recipe(gin_files, gin_bindings):
    """Parse gin files and bindings and return their Recipe."""
    config.parse(list(gin_files), list(gin_bindings))
    return Recipe.from_gin()


def format_report(result):
    """Human-readable summary of an :func:`estimate` result."""
    recipe = result["recipe"]
    dense, sparse = result["dense_flops"], result["sparse_flops"]
    lines = [
        f"model {recipe['model']} at {tuple(result['image_shape'])}, "
        f"{recipe['num_iterations']} iterations, batch G {recipe['gen_batch_size']} / "
        f"D {recipe['disc_batch_size']}, n_critic {recipe['n_critic']}, "
        f"{recipe['sparse_init']} d_G={recipe['densities'][0]:g} d_D={recipe['densities'][1]:g}"
        + ("" if result["paper_convention"] else " (D without the paper's extra n_critic)"),
        f"dense total FLOPs:  {dense['total']:.4e} (G {dense['g']:.4e}, D {dense['d']:.4e})",
        f"sparse total FLOPs: {sparse['total']:.4e} (G {sparse['g']:.4e}, D {sparse['d']:.4e})",
        f"normalized FLOPs:   {result['normalized_percent']:.2f} % "
        f"(G only {result['g_ratio_percent']:.2f} %, D only {result['d_ratio_percent']:.2f} %)",
    ]
    if result["estimate_note"]:
        lines.append(f"note: {result['estimate_note']}")
    return "\n".join(lines)


def run(gin_files, gin_bindings, image_shape=None, num_classes=None, paper_convention=True,
        json_out=None):
    """Parse the recipe, estimate, print the report, optionally write JSON; return the result."""
    result = estimate(parse_recipe(gin_files, gin_bindings), image_shape, num_classes,
                      paper_convention)
    print(format_report(result))
    if json_out:
        atomic_write.write_json(json_out, result)
    return result


def _define_flags():
    flags.DEFINE_multi_string("gin_file", [], "Gin config files, applied in order.")
    flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied after the files.")
    flags.DEFINE_list("image_shape", None,
                      "H,W,C of the images (default: the dataset's, else the model's).")
    flags.DEFINE_integer("num_classes", None,
                         "Classes of a conditional model (default 10; 0 for unconditional).")
    flags.DEFINE_bool("paper_convention", True,
                      "Count D x n_critic twice, as the paper's numbers do.")
    flags.DEFINE_string("json_out", None, "Also write the result as JSON here.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required")
    image_shape = None
    if FLAGS.image_shape:
        if len(FLAGS.image_shape) != 3:
            raise app.UsageError(f"--image_shape must be H,W,C; got {FLAGS.image_shape!r}")
        image_shape = tuple(int(n) for n in FLAGS.image_shape)
    run(FLAGS.gin_file, FLAGS.gin_bindings, image_shape, FLAGS.num_classes,
        FLAGS.paper_convention, FLAGS.json_out)


if __name__ == "__main__":
    _define_flags()
    app.run(main)
