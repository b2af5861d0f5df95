"""A divergence signal: losses or BR that stay far outside their healthy range.

A learning rate far too large can make a GAN diverge with finite numbers (logits in the
thousands, a BR of hundreds) that the NaN guard does not catch. ``DivergenceWatch`` counts
consecutive iterations whose |D loss| or |G loss| exceeds ``loss_limit`` or whose windowed
|BR| exceeds ``br_limit``; after ``patience`` of them it warns (``policy='warn'``, once per
episode) or stops the run (``'stop'``, a :class:`DivergenceError` naming the iteration and the
values, the last good checkpoint kept); ``'off'`` disables it. Healthy hinge-loss runs stay
within a few units of zero and BR near 0.3-1 (spec section 2).
"""

import math

from absl import logging

from ddst_tf import validation

POLICIES = ("warn", "stop", "off")


class DivergenceError(RuntimeError):
    """Losses or BR stayed outside their healthy range for ``patience`` iterations."""


class DivergenceWatch:
    """Counts iterations with out-of-range losses or BR; see the module docstring."""

    def __init__(self, policy="warn", loss_limit=1e3, br_limit=1e2, patience=100):
        self.policy = validation.one_of("GANTrainer.divergence_policy", policy, POLICIES)
        self.loss_limit = validation.positive_real("GANTrainer.divergence_loss_limit",
                                                   loss_limit)
        self.br_limit = validation.positive_real("GANTrainer.divergence_br_limit", br_limit)
        self.patience = validation.positive_int("GANTrainer.divergence_patience", patience)
        self.streak = 0
        self.warned = False

    def observe(self, iteration, d_loss, g_loss, br=None):
        """Record one iteration's losses (and BR when measured); warn or raise when due."""
        if self.policy == "off":
            return
        values = {"D loss": float(d_loss), "G loss": float(g_loss)}
        out = [f"{name} {value:.4g}" for name, value in values.items()
               if abs(value) > self.loss_limit]
        if br is not None and math.isfinite(float(br)) and abs(float(br)) > self.br_limit:
            out.append(f"BR {float(br):.4g}")
        if not out:
            self.streak, self.warned = 0, False
            return
        self.streak += 1
        if self.streak < self.patience:
            return
        message = (f"Diverging at iteration {iteration}: {', '.join(out)} for {self.streak} "
                   f"iterations (limits |loss| <= {self.loss_limit:g}, |BR| <= "
                   f"{self.br_limit:g})")
        if self.policy == "stop":
            raise DivergenceError(
                f"{message}. Stopped (divergence_policy='stop'); lower the learning rates or "
                f"restart from an earlier checkpoint")
        if not self.warned:
            logging.warning("%s; lower the learning rates, or set GANTrainer.divergence_policy "
                            "= 'stop' to end such runs", message)
            self.warned = True
