"""Gin set-up: which modules define configurables, where recipes are found, parsing files
(paths or recipe names) and bindings, and re-parsing the config a run stored."""

import glob
import importlib.util  # noqa: F401  (gin 0.5 resolves `include` with it but does not import it)
import logging
import os

import gin

from ddst_tf import atomic_write, validation
from ddst_tf.run_dir import RunDir

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The recipes: inside the installed package (a wheel ships gin_configs/ as ddst_tf/gin_configs),
# else gin_configs/ of the source tree. They include each other relative to this folder
# (e.g. 'common/g_dst_rigl.gin'), and --gin_file takes them by name from any directory.
RECIPES_DIR = next((path for path in (os.path.join(_PACKAGE_DIR, "gin_configs"),
                                      os.path.join(os.path.dirname(_PACKAGE_DIR), "gin_configs"))
                    if os.path.isdir(path)), os.path.join(_PACKAGE_DIR, "gin_configs"))
def register_configurables():
    """Import every module that defines gin configurables."""
    import ddst_tf.balance.balance_ratio  # noqa: F401
    import ddst_tf.balance.density_controller  # noqa: F401
    import ddst_tf.data.datasets  # noqa: F401
    import ddst_tf.eval.periodic  # noqa: F401
    import ddst_tf.models.registry  # noqa: F401
    import ddst_tf.sparse.dynamic  # noqa: F401
    import ddst_tf.sparse.initialization  # noqa: F401
    import ddst_tf.sparse.schedules  # noqa: F401
    import ddst_tf.training.losses  # noqa: F401
    import ddst_tf.training.trainer  # noqa: F401


class _QuietIncludeSearch(logging.Filter):
    """Drops gin's ERROR line for every search-path miss of an include (a missing include
    still fails, with gin's own "Unable to open file")."""

    def filter(self, record):
        return not (record.pathname.endswith(os.path.join("gin", "resource_reader.py"))
                    and str(record.msg).startswith("Path not found"))


logging.getLogger().addFilter(_QuietIncludeSearch())


def recipe_names():
    """Every recipe under RECIPES_DIR, as the name --gin_file takes (e.g. 'sngan_cifar10/dense.gin')."""
    return sorted(os.path.relpath(path, RECIPES_DIR)
                  for path in glob.glob(os.path.join(RECIPES_DIR, "**", "*.gin"), recursive=True))


def resolve_gin_file(path):
    """``path`` if it is a file, else the recipe of that name; an error lists where to look."""
    if os.path.isfile(path):
        return path
    recipe = os.path.join(RECIPES_DIR, path if path.endswith(".gin") else path + ".gin")
    if os.path.isfile(recipe):
        return recipe
    families = sorted({name.split(os.sep)[0] for name in recipe_names() if os.sep in name})
    raise FileNotFoundError(
        f"--gin_file {path!r} is neither a file nor a recipe in {RECIPES_DIR} (recipe "
        f"folders: {', '.join(families)}; e.g. --gin_file=sngan_cifar10/adapt_relax.gin)")


def check_binding(binding):
    """Refuse a --gin_bindings value that is neither NAME = VALUE nor an include/import."""
    text = binding.strip()
    if not text or text.startswith("#") or text.split()[0] in ("include", "import"):
        return
    if "=" not in text:
        raise validation.InvalidValueError(
            f"--gin_bindings {binding!r} is not a binding: write NAME = VALUE (e.g. "
            f"'GANTrainer.num_iterations = 200') or include 'FILE'")


def parse(gin_files, gin_bindings, model_dir=None):
    """Parse files (paths or recipe names) and bindings; store the flattened config as
    model_dir/config.gin."""
    register_configurables()
    gin_files = [resolve_gin_file(path) for path in gin_files]
    for binding in gin_bindings:
        check_binding(binding)
    for path in gin_files:
        gin.add_config_file_search_path(os.path.dirname(os.path.abspath(path)))
    gin.add_config_file_search_path(os.getcwd())
    gin.add_config_file_search_path(RECIPES_DIR)
    gin.parse_config_files_and_bindings(gin_files, gin_bindings)
    if model_dir is not None:
        record_config(model_dir)


def record_config(model_dir):
    """Store the parsed config (``gin.config_str()``) as model_dir/config.gin, atomically."""
    atomic_write.write_text(RunDir(model_dir).config, gin.config_str())


def parse_saved(model_dir, extra_bindings=()):
    """Re-parse the configuration a training run stored in model_dir."""
    path = RunDir(model_dir).config
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: --model_dir must be a directory written by ddst-train")
    register_configurables()
    gin.parse_config_files_and_bindings([path], list(extra_bindings))
