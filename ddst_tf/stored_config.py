"""A run's stored configuration and the comparison of a new one with it before a resume.

A resumed run must train what its checkpoint was trained with: ``config.gin`` in the run
directory holds the flattened config it started with, and every checkpoint records the
fingerprint of the bindings that must not change (:func:`fingerprint`), so a change is caught
even when config.gin was deleted or replaced. Run length, logging, retention, NaN handling and
evaluation may change (:data:`RESUMABLE_BINDINGS`); anything else needs
``--allow_config_change``, and then takes effect.
"""

import hashlib
import os

import gin
from gin import config_parser

from ddst_tf.run_dir import RunDir

# Bindings a resumed run may change without --allow_config_change: run length, logging,
# output retention, failure handling and evaluation; none of them changes the training state.
RESUMABLE_BINDINGS = tuple(f"GANTrainer.{name}" for name in (
    "num_iterations", "log_every", "summary_every", "sample_every", "checkpoint_every",
    "keep_checkpoints", "keep_samples", "num_samples", "nan_policy", "max_nan_skips",
    "divergence_policy", "divergence_loss_limit", "divergence_br_limit", "divergence_patience",
    "check_invariants_every", "evaluator")) + ("PeriodicEvaluator.*",)


class ConfigMismatchError(ValueError):
    """A model_dir holds a run started with a different configuration."""


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


def fingerprint(config_text):
    """sha256 of the bindings that must not change on resume (name=value lines, sorted)."""
    lines = sorted(f"{name}={value}" for name, value in bindings(config_text).items()
                   if not is_resumable(name))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def fingerprint_words(hexdigest):
    """A sha256 hex digest as 4 signed 64-bit words (how a checkpoint stores it)."""
    words = [int(hexdigest[i:i + 16], 16) for i in range(0, 64, 16)]
    return [word - (1 << 64) if word >= 1 << 63 else word for word in words]


def fingerprint_hex(words):
    """The hex digest of :func:`fingerprint_words`; '' for the all-zero words of no fingerprint."""
    if not any(int(word) for word in words):
        return ""
    return "".join(f"{int(word) % (1 << 64):016x}" for word in words)


def check_resumable_config(model_dir, new_text, allow_change=False, checkpoint_fingerprint=None):
    """Refuse to resume the run in ``model_dir`` with ``new_text`` if the configuration changed.

    Compares with the run's stored ``config.gin`` (a diff of the changed bindings) and with the
    fingerprint its checkpoint recorded (which catches changes even when config.gin was deleted
    or replaced). Raises :class:`ConfigMismatchError` naming what differs unless every change
    is in :data:`RESUMABLE_BINDINGS` or ``allow_change``; a corrupt config.gin is an error
    naming it. Returns the changes [(binding, stored, new)].
    """
    path = RunDir(model_dir).config
    new_fingerprint = fingerprint(new_text)
    fingerprint_differs = checkpoint_fingerprint not in (None, "", new_fingerprint)
    if not os.path.isfile(path):
        if fingerprint_differs and not allow_change:
            raise ConfigMismatchError(
                f"{path} is missing, and the run's checkpoint was written with a different "
                f"configuration (fingerprint {checkpoint_fingerprint[:12]}, this one "
                f"{new_fingerprint[:12]}). Restore config.gin to see the difference, resume with "
                f"the config the run was started with, or pass --allow_config_change")
        return []
    try:
        with open(path, encoding="utf-8") as f:
            changes = config_changes(f.read(), new_text)
    except (UnicodeDecodeError, SyntaxError, ValueError) as error:
        raise ConfigMismatchError(
            f"{path} is not a readable gin config ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}); restore it from a copy, or delete it to resume "
            f"under the checkpoint's config fingerprint check") from None
    blocking = [change for change in changes if not is_resumable(change[0])]
    if blocking and not allow_change:
        diff = "; ".join(f"{name}: {old} -> {new}" for name, old, new in blocking)
        raise ConfigMismatchError(
            f"{model_dir} holds a run with a different configuration ({path}); these bindings "
            f"differ (stored -> new): {diff}. Resume with the stored config, use a fresh "
            f"--model_dir, or pass --allow_config_change (without it only run length, logging, "
            f"retention, NaN handling and evaluation may change)")
    if fingerprint_differs and not allow_change:
        raise ConfigMismatchError(
            f"{path} matches this configuration, but the run's checkpoint was written with "
            f"another one (fingerprint {checkpoint_fingerprint[:12]}, this one "
            f"{new_fingerprint[:12]}): config.gin was replaced. Resume with the config the "
            f"run was started with, or pass --allow_config_change")
    return changes
