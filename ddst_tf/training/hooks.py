"""Work the training loop does every N iterations, as hooks that receive only what they use.

Each hook is an :class:`EveryN`: ``due(iteration, last)`` says whether it runs after that
iteration (by default every ``every`` iterations and after the last one) and calling it does
the work. The loop calls them in order: summaries, progress log, sample grids, invariant
checks, checkpoint (and evaluation).
"""

import glob
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from ddst_tf import validation
from ddst_tf.run_dir import SAMPLE_PATTERN
from ddst_tf.training import summaries
from ddst_tf.training.samples import image_grid, save_png


class EveryN:
    """Base of the hooks: due every ``every`` iterations and after the last one."""

    def __init__(self, every, name):
        self.every = validation.positive_int(name, every)

    def due(self, iteration, last):
        return iteration % self.every == 0 or last

    def __call__(self, iteration, metrics):
        raise NotImplementedError


class PeriodicSummaries(EveryN):
    """Losses, per-layer densities, ITOP and training FLOPs to TensorBoard."""

    def __init__(self, every, state):
        super().__init__(every, "GANTrainer.summary_every")
        self.state = state

    def __call__(self, iteration, metrics):
        summaries.write_periodic(iteration, metrics, self.state)


class ProgressLog(EveryN):
    """One log line: iteration, speed, elapsed time, estimated time left, losses."""

    def __init__(self, every, num_iterations, clock=time.perf_counter):
        super().__init__(every, "GANTrainer.log_every")
        self.num_iterations = num_iterations
        self._clock = clock
        self._start = None
        self._last = None

    def start(self, iteration):
        """Start timing at ``iteration`` (the first iteration of this process comes next)."""
        now = self._clock()
        self._start = (now, iteration)
        self._last = (now, iteration)

    def __call__(self, iteration, metrics):
        now = self._clock()
        start_time, start_iteration = self._start
        last_time, last_iteration = self._last
        rate = (iteration - last_iteration) / max(now - last_time, 1e-9)
        overall = (iteration - start_iteration) / max(now - start_time, 1e-9)
        remaining = (self.num_iterations - iteration) / max(overall, 1e-9)
        logging.info("iteration %d/%d  %.2f it/s  elapsed %s  ETA %s  d_loss %.4f  g_loss %.4f",
                     iteration, self.num_iterations, rate, format_duration(now - start_time),
                     format_duration(remaining), float(metrics["d_loss"]),
                     float(metrics["g_loss"]))
        self._last = (now, iteration)


def format_duration(seconds):
    """``seconds`` as h:mm:ss."""
    seconds = int(round(max(seconds, 0.0)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class SampleGrids(EveryN):
    """A grid of EMA-generator samples from fixed latents: samples/iter_<N>.png and latest.png.

    Keeps the newest ``keep`` iteration grids (only regular files named like its own, and only
    when samples/ is inside the run directory: through a symlink elsewhere nothing is deleted)
    and writes the grid to TensorBoard as ``samples/ema``.
    """

    def __init__(self, every, generator, run_dir, keep, num_samples, seed):
        super().__init__(every, "GANTrainer.sample_every")
        self.generator = generator
        self.run_dir = run_dir
        self.keep = validation.positive_int("GANTrainer.keep_samples", keep)
        num_samples = validation.positive_int("GANTrainer.num_samples", num_samples)
        self.z = tf.random.stateless_normal((num_samples, generator.latent_dim), seed=(seed, 7))
        classes = max(getattr(generator, "num_classes", 0), 1)
        self.labels = tf.constant(np.arange(num_samples) % classes, tf.int32)

    def generate(self):
        """Images from the fixed sample latents (and balanced labels if conditional)."""
        conditional = getattr(self.generator, "num_classes", 0)
        inputs = [self.z, self.labels] if conditional else self.z
        return self.generator(inputs, training=False).numpy()

    def __call__(self, iteration, metrics):
        grid = image_grid(self.generate())
        save_png(self.run_dir.sample(iteration), grid)
        save_png(self.run_dir.latest_sample, grid)
        if self.run_dir.contains(self.run_dir.samples):
            kept = sorted(path for path in glob.glob(os.path.join(
                glob.escape(self.run_dir.samples), SAMPLE_PATTERN)) if not os.path.islink(path))
            for old in kept[:-self.keep]:
                os.remove(old)
        tf.summary.image("samples/ema", grid[None], step=iteration)


class InvariantCheck(EveryN):
    """Raise if a sparsity invariant is violated (see ``invariants``); ``every`` 0 is off."""

    def __init__(self, every, invariants):
        self.every = validation.non_negative_int("GANTrainer.check_invariants_every", every)
        self.invariants = invariants

    def due(self, iteration, last):
        return bool(self.every) and iteration % self.every == 0

    def __call__(self, iteration, metrics):
        self.invariants.check(iteration)


class CheckpointAndEvaluate(EveryN):
    """Save a checkpoint; then, on the chief, let the evaluator score it if its time has come.

    ``save()`` returns the saved checkpoint's path (None off the chief); ``evaluator`` is a
    ``PeriodicEvaluator`` or None, ``target`` what it evaluates (``EvaluationTarget``).
    """

    def __init__(self, every, save, evaluator=None, target=None):
        super().__init__(every, "GANTrainer.checkpoint_every")
        self.save = save
        self.evaluator = evaluator
        self.target = target

    def __call__(self, iteration, metrics):
        path = self.save()
        if path is not None and self.evaluator is not None:
            self.evaluator.maybe_evaluate(iteration, self.target, path)
