"""Every paper recipe in gin_configs/ parses and sets what its name says (no training)."""

import glob
import os

import gin
import pytest

from ddst_tf.models import registry
from tool_modules import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = {  # family: (model, n_critic, gen batch, disc batch, iterations)
    "sngan_cifar10": ("sngan32", 5, 128, 64, 100000),
    "sngan_stl10": ("sngan48", 5, 128, 64, 100000),
    "biggan_cifar10": ("biggan32", 4, 50, 50, 200000),
    "biggan_tinyimagenet": ("biggan32", 4, 50, 50, 200000),
}
METHODS = ["dense", "static_balance", "static_strong", "sdst_balance_set", "sdst_balance_rigl",
           "sdst_strong_set", "sdst_strong_rigl", "dda", "adapt_relax", "adapt_strict"]
FLOPS = load_tool("flops")


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_every_family_has_every_method():
    for family in FAMILIES:
        found = {os.path.basename(p)[:-4] for p in glob.glob(f"{ROOT}/gin_configs/{family}/*.gin")}
        assert found == set(METHODS) | {"base"}, family


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("method", METHODS)
def test_recipe_settings(family, method):
    path = os.path.join(ROOT, "gin_configs", family, f"{method}.gin")
    recipe = FLOPS.parse_recipe([path], ["D_G = 0.2"])
    model, n_critic, gen_bs, disc_bs, iterations = FAMILIES[family]
    assert (recipe.model, recipe.n_critic, recipe.gen_batch_size, recipe.disc_batch_size,
            recipe.num_iterations) == (model, n_critic, gen_bs, disc_bs, iterations)
    assert recipe.model in registry.known_models() and recipe.sparse_init == "erk"
    d_g, d_d = recipe.densities
    if method == "dense":
        assert (d_g, d_d) == (1.0, 1.0)
    elif "strong" in method:
        assert (d_g, d_d) == (0.2, 1.0)
    else:
        assert (d_g, d_d) == (0.2, 0.2)
    assert ("g_dst" in recipe.dynamic) == (method.startswith(("sdst", "adapt")))
    assert ("d_controller" in recipe.dynamic) == (method in ("dda", "adapt_relax", "adapt_strict"))
    if "g_dst" in recipe.dynamic:
        grow = gin.query_parameter("DynamicSparsity.grow_score")
        assert grow == ("random" if method.endswith("_set") else "gradient")
        assert gin.query_parameter("g_dst/CosineDropFraction.update_every") is not None
    if "d_controller" in recipe.dynamic:
        mode = gin.query_parameter("DensityController.mode")
        assert mode == {"dda": "dda", "adapt_relax": "relaxed", "adapt_strict": "strict"}[method]
        bounds = gin.query_parameter("DensityController.bounds")
        assert tuple(bounds) == ((0.50, 0.65) if method == "dda" else (0.45, 0.55))
