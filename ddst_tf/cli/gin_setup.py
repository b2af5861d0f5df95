"""Gin parsing shared by the command-line tools; records the config in model_dir."""

import importlib.util  # noqa: F401  (gin 0.5 resolves `include` with it but does not import it)
import os

import gin

CONFIG_NAME = "config.gin"
# Recipes include each other relative to this folder (e.g. 'common/g_dst_rigl.gin').
GIN_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "gin_configs")


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


def parse(gin_files, gin_bindings, model_dir=None):
    """Parse files and bindings; store the flattened config as model_dir/config.gin."""
    register_configurables()
    for path in gin_files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--gin_file {path!r} does not exist")
        gin.add_config_file_search_path(os.path.dirname(os.path.abspath(path)))
    gin.add_config_file_search_path(os.getcwd())
    gin.add_config_file_search_path(GIN_CONFIGS)
    gin.parse_config_files_and_bindings(gin_files, gin_bindings)
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        path = os.path.join(model_dir, CONFIG_NAME)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(gin.config_str())
        os.replace(tmp, path)


def parse_saved(model_dir, extra_bindings=()):
    """Re-parse the configuration a training run stored in model_dir."""
    path = os.path.join(model_dir, CONFIG_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: --model_dir must be a directory written by ddst-train")
    register_configurables()
    gin.parse_config_files_and_bindings([path], list(extra_bindings))
