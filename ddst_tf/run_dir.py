"""The layout of a training run's directory (``--model_dir``): every path a run reads or writes.

    model_dir/
      config.gin            the flattened gin config the run was started with
      operative_config.gin  the parameters gin actually used
      model.json            what rebuilds the generator (model name, image shape, classes, latent;
                            write_model_info / read_model_info)
      run.json              the run's facts: recipe, controller bounds, BR settings
      run_summary.json      final densities and training FLOPs
      checkpoints/          the training state (tf.train.CheckpointManager)
      samples/              sample grids iter_<N>.png and latest.png
      summaries/            TensorBoard events
      eval/                 metrics.csv and metrics.jsonl
      best/                 the best checkpoint by the evaluator's metric, itself a run directory
      plots/                ddst-plot output
"""

import fnmatch
import json
import os
import shutil

from ddst_tf import atomic_write

CONFIG = "config.gin"
OPERATIVE_CONFIG = "operative_config.gin"
MODEL_INFO = "model.json"
RUN_INFO = "run.json"
RUN_SUMMARY = "run_summary.json"
CHECKPOINTS = "checkpoints"
CHECKPOINT_STATE = "checkpoint"
SAMPLES = "samples"
SUMMARIES = "summaries"
EVAL = "eval"
BEST = "best"
BEST_RECORD = "best.json"
PLOTS = "plots"
SAMPLE_PATTERN = "iter_*.png"
LATEST_SAMPLE = "latest.png"
# Files that make a copy of a run directory (e.g. best/) loadable by ddst-eval and ddst-export.
REBUILD_FILES = (CONFIG, MODEL_INFO)
# Leftovers of writes killed midway: TF's sharded-save folders and the best/ swap folders.
_STALE_PATTERNS = ("ckpt-*_temp", ".best.partial-*", ".best.retired-*")


class RunDir:
    """Paths of the run in ``model_dir``; nothing is created until :meth:`make` or a writer asks."""

    def __init__(self, model_dir):
        if not model_dir or not isinstance(model_dir, (str, os.PathLike)):
            raise ValueError(f"model_dir must be a directory path; got {model_dir!r}")
        self.root = os.fspath(model_dir)

    def __repr__(self):
        return f"RunDir({self.root!r})"

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def make(self):
        """Create the run directory (and parents); returns self."""
        os.makedirs(self.root, exist_ok=True)
        return self

    config = property(lambda self: self.path(CONFIG))
    operative_config = property(lambda self: self.path(OPERATIVE_CONFIG))
    model_info = property(lambda self: self.path(MODEL_INFO))
    run_info = property(lambda self: self.path(RUN_INFO))
    run_summary = property(lambda self: self.path(RUN_SUMMARY))
    checkpoints = property(lambda self: self.path(CHECKPOINTS))
    checkpoint_state = property(lambda self: self.path(CHECKPOINTS, CHECKPOINT_STATE))
    samples = property(lambda self: self.path(SAMPLES))
    summaries = property(lambda self: self.path(SUMMARIES))
    eval = property(lambda self: self.path(EVAL))
    best = property(lambda self: self.path(BEST))
    plots = property(lambda self: self.path(PLOTS))

    def sample(self, iteration):
        """The sample grid of ``iteration``."""
        return self.path(SAMPLES, f"iter_{int(iteration):07d}.png")

    @property
    def latest_sample(self):
        return self.path(SAMPLES, LATEST_SAMPLE)

    def has_checkpoint_state(self):
        """Whether the run has a checkpoint state file (a run to resume)."""
        return os.path.isfile(self.checkpoint_state)

    def has_checkpoints(self):
        """Whether the run has a state file or any ckpt-* file (something to resume or keep)."""
        folder = self.checkpoints
        return self.has_checkpoint_state() or (
            os.path.isdir(folder) and any(name.startswith("ckpt-") for name in os.listdir(folder)))

    def contains(self, path):
        """Whether ``path`` resolves (symlinks followed) to a place inside the run directory."""
        root = os.path.realpath(self.root)
        return os.path.realpath(path).startswith(root + os.sep)

    def remove_leftovers(self):
        """Delete what writes killed midway left (temporary files and folders of atomic writes,
        checkpoint saves and best/ swaps) in the run's own folders; returns what went. Symlinks
        and anything resolving outside the run directory are left alone."""
        removed = []
        for folder in (self.root, self.checkpoints, self.samples, self.eval, self.plots):
            if not os.path.isdir(folder) or os.path.islink(folder) or (
                    folder != self.root and not self.contains(folder)):
                continue
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                stale = atomic_write.is_partial(name) or any(
                    fnmatch.fnmatch(name, pattern) for pattern in _STALE_PATTERNS)
                if not stale or os.path.islink(path):
                    continue
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
                removed.append(path)
        return removed


def write_model_info(model_dir, model, image_shape, num_classes, latent_dim):
    """Write ``model.json`` of the run in ``model_dir``."""
    atomic_write.write_json(RunDir(model_dir).model_info, {
        "model": model, "image_shape": [int(d) for d in image_shape],
        "num_classes": int(num_classes), "latent_dim": int(latent_dim)})


def read_model_info(model_dir):
    """The dict of ``model.json``, or a FileNotFoundError saying what --model_dir must be."""
    path = RunDir(model_dir).model_info
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: --model_dir must be a directory written by ddst-train")
    with open(path) as handle:
        return json.load(handle)
