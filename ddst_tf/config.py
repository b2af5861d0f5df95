"""Gin set-up: which modules define configurables, where recipes are found, the stored config of
a run, and the comparison of a new config with the one a run was started with."""

import importlib.util  # noqa: F401  (gin 0.5 resolves `include` with it but does not import it)
import os

import gin
from gin import config_parser

from ddst_tf import atomic_write
from ddst_tf.run_dir import RunDir

# Recipes include each other relative to this folder (e.g. 'common/g_dst_rigl.gin').
RECIPES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "gin_configs")
# Bindings a resumed run may change without --allow_config_change: run length, logging,
# output retention, failure handling and evaluation; none of them changes the training state.
RESUMABLE_BINDINGS = tuple(f"GANTrainer.{name}" for name in (
    "num_iterations", "log_every", "summary_every", "sample_every", "checkpoint_every",
    "keep_checkpoints", "keep_samples", "num_samples", "nan_policy", "max_nan_skips",
    "check_invariants_every", "evaluator")) + ("PeriodicEvaluator.*",)


class ConfigMismatchError(ValueError):
    """A model_dir holds a run started with a different configuration."""


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


def bindings(config_text):
    """{'scope/Configurable.param' or 'MACRO': value as written} of a flattened gin config."""
    parser = config_parser.ConfigParser(config_text, gin.config.ParserDelegate(skip_unknown=True))
    found = {}
    for statement in parser:
        if isinstance(statement, config_parser.BindingStatement):
            name = ".".join(part for part in (statement.selector, statement.arg_name) if part)
            found[f"{statement.scope}/{name}" if statement.scope else name] = repr(
                statement.value)
    return found


def is_resumable(name):
    """Whether binding ``name`` may change between a run and its resumption."""
    return any(name == allowed or (allowed.endswith(".*") and name.startswith(allowed[:-1]))
               for allowed in RESUMABLE_BINDINGS)


def config_changes(old_text, new_text):
    """[(binding, old value, new value)] of bindings that differ; '(unset)' if absent."""
    old, new = bindings(old_text), bindings(new_text)
    return [(name, old.get(name, "(unset)"), new.get(name, "(unset)"))
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def check_resumable_config(model_dir, new_text, allow_change=False):
    """Compare model_dir's stored config with ``new_text`` before a resumed run overwrites it.

    Raises :class:`ConfigMismatchError` with a diff of the differing bindings unless every
    change is in :data:`RESUMABLE_BINDINGS` or ``allow_change``; returns the changes.
    """
    path = RunDir(model_dir).config
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        changes = config_changes(f.read(), new_text)
    blocking = [change for change in changes if not is_resumable(change[0])]
    if blocking and not allow_change:
        diff = "\n".join(f"  {name}: {old} -> {new}" for name, old, new in blocking)
        raise ConfigMismatchError(
            f"{model_dir} holds a checkpoint of a run with a different configuration "
            f"({path}); these bindings differ (stored -> new):\n{diff}\n"
            f"Resume with the stored config, use a fresh --model_dir, or pass "
            f"--allow_config_change. Without it only these bindings may change: "
            f"{', '.join(RESUMABLE_BINDINGS)}.")
    return changes
