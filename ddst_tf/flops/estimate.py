"""Training FLOPs of a recipe before training: dense and sparse totals at the initial densities.

Builds G and D, solves the expected per-layer densities of the recipe's sparse init (e.g. ERK)
and counts with the paper's rules (``counting``). Static recipes are exact; with G DST or a D
density controller the densities move during training, so the result is the cost at the
initial densities and says so (the trainer's ``FlopsAccountant`` has the real count).
"""

from ddst_tf.flops.counting import forward_flops, iteration_flops, layer_flops
from ddst_tf.models import registry
from ddst_tf.sparse.initialization import SparseInit

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


def default_image_shape(recipe):
    """The recipe's dataset image shape if fixed, else the model's usual one."""
    shape = DATASET_IMAGE_SHAPES.get(recipe.dataset) or MODEL_IMAGE_SHAPES.get(recipe.model)
    if shape is None:
        raise ValueError(f"No default image shape for model {recipe.model!r} and dataset "
                         f"{recipe.dataset!r}; pass --image_shape=H,W,C")
    return shape


def estimate(recipe, image_shape=None, num_classes=None, paper_convention=True):
    """Dense and sparse training FLOPs of a :class:`ddst_tf.recipes.Recipe` as a JSON-ready dict.

    ``image_shape``/``num_classes`` default to :func:`default_image_shape` and to 10 classes
    for conditional models (0 otherwise).
    """
    image_shape = tuple(int(n) for n in (image_shape or default_image_shape(recipe)))
    if num_classes is None:
        num_classes = DEFAULT_NUM_CLASSES if registry.is_conditional(recipe.model) else 0
    generator, discriminator = registry.build_gan(recipe.model, image_shape, num_classes)
    g_layers, d_layers = layer_flops(generator), layer_flops(discriminator)
    g_densities = SparseInit(recipe.sparse_init, recipe.g_density).densities(generator)
    d_densities = SparseInit(recipe.sparse_init, recipe.d_density).densities(discriminator)
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
        "recipe": recipe.as_dict(),
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
