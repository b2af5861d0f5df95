"""Training FLOPs of a gin training recipe, by the paper's counting rules (no data loaded).

Reads GANTrainer's model, iterations, densities, sparse init, batch sizes and
n_critic from the recipe, builds G and D, solves the expected per-layer
densities (e.g. ERK) and prints dense and sparse totals, normalized FLOPs and
the G-only and D-only ratios:

    python tools/flops.py --gin_file=gin_configs/sngan_cifar10/static_balance.gin \
        --gin_bindings='D_G = 0.1' [--json_out=flops.json]

Static recipes are exact (densities never change). With G DST or a D density
controller the densities move during training; the tool then reports the cost
at the initial densities and says so (the trainer's FlopsAccountant has the
real count).
"""

import dataclasses
import inspect
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
from absl import app, flags  # noqa: E402

from ddst_tf.cli import gin_setup  # noqa: E402
from ddst_tf.flops.counting import forward_flops, iteration_flops, layer_flops  # noqa: E402
from ddst_tf.models import registry  # noqa: E402
from ddst_tf.sparse.initialization import SparseInit  # noqa: E402

FLAGS = flags.FLAGS

# Image shape of each dataset whose images have a fixed size.
DATASET_IMAGE_SHAPES = {
    "cifar10": (32, 32, 3), "cifar10_jpeg": (32, 32, 3),
    "fashion_mnist": (28, 28, 1), "digits": (8, 8, 1),
}
# Fallback image shape of each model (the paper's resolution for it).
MODEL_IMAGE_SHAPES = {
    "sngan32": (32, 32, 3), "sngan48": (48, 48, 3), "biggan32": (32, 32, 3),
    "dcgan": (32, 32, 3),
}
DEFAULT_NUM_CLASSES = 10
_TRAINER_PARAMS = ("model", "dataset", "num_iterations", "densities", "sparse_init",
                   "gen_batch_size", "disc_batch_size", "n_critic")
_DYNAMIC_PARAMS = ("g_dst", "d_controller")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The GANTrainer settings that decide training FLOPs."""

    model: str
    dataset: str
    num_iterations: int
    densities: tuple
    sparse_init: str
    gen_batch_size: int
    disc_batch_size: int
    n_critic: int
    dynamic: tuple  # names of the bound GANTrainer params that change densities


def _resolve(value):
    """A queried gin value with macros (``%NAME``) replaced by their values."""
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(item) for item in value)
    if isinstance(value, gin.config.ConfigurableReference) and str(value).startswith("%"):
        return _resolve(gin.query_parameter(str(value)))
    return value


def _trainer_parameter(name, defaults):
    """GANTrainer.<name> from the parsed config, else GANTrainer's default."""
    try:
        return _resolve(gin.query_parameter(f"GANTrainer.{name}"))
    except ValueError:
        default = defaults[name].default
        if default is gin.REQUIRED or default is inspect.Parameter.empty:
            raise ValueError(f"The recipe must bind GANTrainer.{name}") from None
        return default


def read_recipe():
    """The Recipe of the currently parsed gin config."""
    from ddst_tf.training.trainer import GANTrainer

    defaults = inspect.signature(GANTrainer.__init__).parameters
    values = {name: _trainer_parameter(name, defaults) for name in _TRAINER_PARAMS}
    dynamic = tuple(name for name in _DYNAMIC_PARAMS
                    if _trainer_parameter(name, defaults) is not None)
    densities = tuple(float(d) for d in values.pop("densities"))
    if len(densities) != 2:
        raise ValueError(f"GANTrainer.densities must be (d_G, d_D); got {densities!r}")
    return Recipe(densities=densities, dynamic=dynamic, **values)


def parse_recipe(gin_files, gin_bindings):
    """Parse gin files and bindings and return their Recipe."""
    gin_setup.parse(list(gin_files), list(gin_bindings))
    return read_recipe()


def default_image_shape(recipe):
    """The recipe's dataset image shape if fixed, else the model's usual one."""
    shape = DATASET_IMAGE_SHAPES.get(recipe.dataset) or MODEL_IMAGE_SHAPES.get(recipe.model)
    if shape is None:
        raise ValueError(f"No default image shape for model {recipe.model!r} and dataset "
                         f"{recipe.dataset!r}; pass --image_shape=H,W,C")
    return shape


def estimate(recipe, image_shape=None, num_classes=None, paper_convention=True):
    """Dense and sparse training FLOPs of ``recipe`` as a JSON-ready dict.

    ``image_shape``/``num_classes`` default to :func:`default_image_shape` and
    to 10 classes for conditional models (0 otherwise).
    """
    image_shape = tuple(int(n) for n in (image_shape or default_image_shape(recipe)))
    if num_classes is None:
        num_classes = DEFAULT_NUM_CLASSES if registry.is_conditional(recipe.model) else 0
    generator, discriminator = registry.build_gan(recipe.model, image_shape, num_classes)
    g_layers, d_layers = layer_flops(generator), layer_flops(discriminator)
    g_density, d_density = recipe.densities
    g_densities = SparseInit(recipe.sparse_init, g_density).densities(generator)
    d_densities = SparseInit(recipe.sparse_init, d_density).densities(discriminator)
    batches = (recipe.gen_batch_size, recipe.disc_batch_size, recipe.n_critic)

    def totals(g_forward, d_forward):
        g_iter, d_iter = iteration_flops(g_forward, d_forward, *batches,
                                         paper_convention=paper_convention)
        g, d = g_iter * recipe.num_iterations, d_iter * recipe.num_iterations
        return {"g": g, "d": d, "total": g + d}

    dense = totals(forward_flops(g_layers), forward_flops(d_layers))
    sparse = totals(forward_flops(g_layers, g_densities), forward_flops(d_layers, d_densities))
    note = None
    if recipe.dynamic:
        note = (f"{' and '.join(recipe.dynamic)} change the densities during training; "
                f"these are the FLOPs at the initial densities")
    return {
        "recipe": dataclasses.asdict(recipe),
        "image_shape": list(image_shape),
        "num_classes": num_classes,
        "paper_convention": paper_convention,
        "dense_flops": dense,
        "sparse_flops": sparse,
        "normalized_percent": 100.0 * sparse["total"] / dense["total"],
        "g_ratio_percent": 100.0 * sparse["g"] / dense["g"],
        "d_ratio_percent": 100.0 * sparse["d"] / dense["d"],
        "g_layer_densities": g_densities,
        "d_layer_densities": d_densities,
        "estimate_note": note,
    }


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
        with open(json_out, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
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
