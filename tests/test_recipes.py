"""ddst_tf.recipes: every paper recipe in gin_configs/ parses into a Recipe that says what its
name says (no training), and bad facts are refused."""

import glob
import os

import gin
import pytest

from ddst_tf import config, validation
from ddst_tf.models import registry
from ddst_tf.recipes import Recipe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = {  # family: (model, n_critic, gen batch, disc batch, iterations)
    "sngan_cifar10": ("sngan32", 5, 128, 64, 100000),
    "sngan_stl10": ("sngan48", 5, 128, 64, 100000),
    "biggan_cifar10": ("biggan32", 4, 50, 50, 200000),
    "biggan_tinyimagenet": ("biggan32", 4, 50, 50, 200000),
}
METHODS = ["dense", "static_balance", "static_strong", "sdst_balance_set", "sdst_balance_rigl",
           "sdst_strong_set", "sdst_strong_rigl", "dda", "adapt_relax", "adapt_strict"]


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
    config.parse([path], ["D_G = 0.2"])
    recipe = Recipe.from_gin()
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
        br_freq = gin.query_parameter("BalanceRatio.br_freq")
        assert br_freq <= gin.query_parameter("DensityController.update_every") // 10


def test_recipe_reads_gin_with_trainer_defaults_for_unbound_facts():
    gin.parse_config("GANTrainer.model = 'dcgan'\nGANTrainer.dataset = 'digits'\n"
                     "N = 30\nGANTrainer.num_iterations = %N\n"
                     "GANTrainer.g_dst = @DynamicSparsity")
    recipe = Recipe.from_gin()
    assert recipe == Recipe(model="dcgan", dataset="digits", num_iterations=30,
                            dynamic=("g_dst",))
    assert (recipe.densities, recipe.n_critic, recipe.gen_batch_size) == ((1.0, 1.0), 5, 128)


def test_trainer_defaults_are_the_recipe_defaults():
    import inspect

    from ddst_tf.training.trainer import GANTrainer
    parameters = inspect.signature(GANTrainer).parameters
    for field in ("densities", "sparse_init", "gen_batch_size", "disc_batch_size", "n_critic"):
        assert parameters[field].default == getattr(Recipe, field), field


def test_missing_required_fact_is_named():
    gin.parse_config("GANTrainer.model = 'dcgan'\nGANTrainer.dataset = 'digits'")
    with pytest.raises(validation.InvalidValueError,
                       match="the recipe must bind GANTrainer.num_iterations"):
        Recipe.from_gin()


@pytest.mark.parametrize("facts,message", [
    ({"num_iterations": 10.0}, r"GANTrainer.num_iterations must be an integer; got 10.0"),
    ({"num_iterations": 0}, r"GANTrainer.num_iterations must be a positive integer; got 0"),
    ({"densities": (0.5,)}, r"GANTrainer.densities must be \(d_G, d_D\); got \(0.5,\)"),
    ({"densities": (0.5, "x")}, r"densities\[1\] \(d_D\) must be a finite number; got 'x'"),
    ({"gen_batch_size": True}, r"GANTrainer.gen_batch_size must be an integer; got True"),
])
def test_bad_facts_are_refused_with_the_binding_to_change(facts, message):
    arguments = {"model": "dcgan", "dataset": "digits", "num_iterations": 10, **facts}
    with pytest.raises(validation.InvalidValueError, match=message):
        Recipe(**arguments)
