"""Detect non-finite training quantities and state; the trainer stops or rolls back on them.

The trainer checks the D loss, the G loss and the balance-ratio sample of every iteration
on the host, and every floating-point state variable before each checkpoint save, so a
checkpoint never holds non-finite state. Policies (``GANTrainer.nan_policy``):

- ``stop``: raise :class:`NonFiniteError`; the last good checkpoint stays the latest.
- ``skip``: restore the last good checkpoint (a fresh run saves its initial state as
  ckpt-0 for this), fold the skip count into the latent seed so the same draws are not
  replayed, count the skip in a checkpointed variable, and stop after ``max_nan_skips``.
"""

import numpy as np
import tensorflow as tf
from absl import logging

from ddst_tf import validation

NAN_POLICIES = ("stop", "skip")
# Iteration outputs that must be finite, with the names the error message uses.
CHECKED_OUTPUTS = {"d_loss": "D loss", "g_loss": "G loss", "br_sample": "balance-ratio sample"}


class NonFiniteError(RuntimeError):
    """A non-finite loss, BR sample or state variable at a training iteration."""

    def __init__(self, iteration, quantities, detail=""):
        self.iteration = int(iteration)
        self.quantities = list(quantities)
        self.detail = detail
        message = f"Non-finite {', '.join(self.quantities)} at iteration {self.iteration}"
        super().__init__(f"{message}. {detail}" if detail else message)


def check_policy(nan_policy, max_nan_skips):
    """Validate the policy options; returns them as (str, int)."""
    return (validation.one_of("GANTrainer.nan_policy", nan_policy, NAN_POLICIES),
            validation.non_negative_int("GANTrainer.max_nan_skips", max_nan_skips))


def non_finite_outputs(outputs):
    """Names (see :data:`CHECKED_OUTPUTS`) of the checked iteration outputs with a NaN/Inf."""
    return [name for key, name in CHECKED_OUTPUTS.items()
            if key in outputs and not np.all(np.isfinite(np.asarray(outputs[key])))]


def variable_name(variable):
    return getattr(variable, "path", None) or variable.name


def non_finite_variables(variables):
    """Names of the floating-point variables holding a NaN or Inf."""
    return [f"state variable {variable_name(v)}" for v in variables
            if tf.as_dtype(v.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(
                tf.convert_to_tensor(v))))]


def check_outputs(iteration, outputs):
    """Raise :class:`NonFiniteError` if a checked output of ``iteration`` is not finite."""
    bad = non_finite_outputs(outputs)
    if bad:
        raise NonFiniteError(iteration, bad)


def check_variables(iteration, variables):
    """Raise :class:`NonFiniteError` naming every non-finite state variable."""
    bad = non_finite_variables(variables)
    if bad:
        raise NonFiniteError(iteration, bad)


class NonFiniteGuard:
    """Applies the NaN policy to a :class:`NonFiniteError` raised during training.

    ``checkpoint``: the run's ``TrainingCheckpoint`` (which names the last good one);
    ``restore()`` restores it; ``nan_skips``: the checkpointed skip counter (it also moves the
    latent seed, see ``latents``); ``iteration``: the run's iteration counter.
    """

    def __init__(self, policy, max_skips, checkpoint, restore, nan_skips, iteration):
        self.policy, self.max_skips = check_policy(policy, max_skips)
        self.checkpoint = checkpoint
        self.restore = restore
        self.nan_skips = nan_skips
        self.iteration = iteration

    def recover(self, error):
        """Re-raise (``stop``, or ``skip`` with the skips used up) naming the last good
        checkpoint, or restore that checkpoint and count the skip (the caller goes on from the
        restored iteration with a new input iterator)."""
        latest = self.checkpoint.latest
        kept = (f"The last good checkpoint {latest} is kept." if latest else
                "No checkpoint was written yet.")
        skips = int(self.nan_skips.numpy())
        if self.policy == "stop":
            raise NonFiniteError(
                error.iteration, error.quantities,
                f"Stopped (nan_policy='stop'). {kept} Lower the learning rates, check the "
                f"data, or set GANTrainer.nan_policy = 'skip' to roll back and draw new "
                f"latents.") from error
        if skips >= self.max_skips:
            raise NonFiniteError(
                error.iteration, error.quantities,
                f"Stopped ({skips} skips already, max_nan_skips={self.max_skips}). {kept} "
                f"Lower the learning rates or check the data.") from error
        self.restore()
        self.nan_skips.assign(skips + 1)
        logging.warning("%s. Skip %d of %d: rolled back to %s (iteration %d) with new latents.",
                        error, skips + 1, self.max_skips, latest, int(self.iteration.numpy()))
        tf.summary.scalar("nan_guard/skips", skips + 1, step=error.iteration,
                          description="NaN/Inf events rolled back so far (nan_policy='skip').")
