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
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {list(NAN_POLICIES)}; got {nan_policy!r}")
    if isinstance(max_nan_skips, bool) or not isinstance(max_nan_skips, int) or max_nan_skips < 0:
        raise ValueError(f"max_nan_skips must be an integer >= 0; got {max_nan_skips!r}")
    return nan_policy, max_nan_skips


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
