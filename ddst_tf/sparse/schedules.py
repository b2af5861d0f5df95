"""Drop-fraction schedules for dynamic sparse training (the "death rate").

Protocol (as tfmot's ``PruningSchedule``): ``schedule(step) -> (should_update,
fraction)``, a bool tensor and a float64 tensor, plus ``get_config`` /
``from_config``. ``step`` is the network's own optimizer-step counter (an int64
variable owned by the trainer); schedules hold no state.

``end_step`` is a fact of the run, not a setting: gin may not bind it. Recipes pass
the schedule class (``DynamicSparsity.schedule = @CosineDropFraction``) and the
trainer's parts construct it with the run's length.

Updates happen every ``update_every`` steps, never at step 0 and never at or
after ``end_step`` (the official code skips the update at step T_max):
``should_update = step > 0 and step % update_every == 0 and step < end_step``.
The fraction is evaluated at ``min(step, end_step)``.
"""

import math

import gin
import tensorflow as tf

from ddst_tf import validation

DEFAULT_FINAL_FRACTION = 0.005


class DropFractionSchedule:
    """Update cadence and validation shared by the drop-fraction schedules."""

    def __init__(self, update_every, end_step):
        self.update_every = validation.positive_int(
            f"{type(self).__name__}.update_every", update_every)
        self.end_step = validation.positive_int(f"{type(self).__name__}.end_step", end_step)

    def __call__(self, step):
        step = tf.cast(step, tf.int64)
        should_update = tf.logical_and(
            tf.logical_and(step > 0, tf.equal(step % self.update_every, 0)),
            step < self.end_step)
        progress = tf.cast(tf.minimum(step, self.end_step), tf.float64) / self.end_step
        return should_update, self.fraction_at(progress)

    def fraction_at(self, progress):
        """The drop fraction at ``progress = step / end_step`` in [0, 1]."""
        raise NotImplementedError

    def get_config(self):
        return {"update_every": self.update_every, "end_step": self.end_step}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@gin.configurable(denylist=["end_step"])
class ConstantDropFraction(DropFractionSchedule):
    """The same drop fraction at every update."""

    def __init__(self, fraction=gin.REQUIRED, update_every=gin.REQUIRED, *, end_step):
        super().__init__(update_every, end_step)
        self.fraction = validation.open_fraction("ConstantDropFraction.fraction", fraction)

    def fraction_at(self, progress):
        return tf.ones_like(progress) * self.fraction

    def get_config(self):
        return {**super().get_config(), "fraction": self.fraction}


class _DecayingDropFraction(DropFractionSchedule):
    """A fraction going from ``initial_fraction`` to ``final_fraction`` over ``end_step``."""

    def __init__(self, initial_fraction=gin.REQUIRED, update_every=gin.REQUIRED, *, end_step,
                 final_fraction=DEFAULT_FINAL_FRACTION):
        super().__init__(update_every, end_step)
        name = type(self).__name__
        self.initial_fraction = validation.open_fraction(f"{name}.initial_fraction",
                                                         initial_fraction)
        self.final_fraction = validation.open_fraction(f"{name}.final_fraction", final_fraction)

    def get_config(self):
        return {**super().get_config(), "initial_fraction": self.initial_fraction,
                "final_fraction": self.final_fraction}


@gin.configurable(denylist=["end_step"])
class CosineDropFraction(_DecayingDropFraction):
    """Cosine annealing from ``initial_fraction`` to ``final_fraction`` over ``end_step``.

    fraction = final + (initial - final) * (1 + cos(pi * step / end_step)) / 2,
    as torch's CosineAnnealingLR(T_max=end_step, eta_min=final) in the official
    code (eta_min = 0.005 there).
    """

    def fraction_at(self, progress):
        cosine = (1.0 + tf.cos(math.pi * progress)) / 2.0
        return self.final_fraction + (self.initial_fraction - self.final_fraction) * cosine


@gin.configurable(denylist=["end_step"])
class LinearDropFraction(_DecayingDropFraction):
    """Linear interpolation from ``initial_fraction`` to ``final_fraction`` over ``end_step``.

    (The official code's ``LinearDecay`` instead multiplies by a factor at each
    update; it is not used by the ADAPT scripts.)
    """

    def fraction_at(self, progress):
        return self.initial_fraction + (self.final_fraction - self.initial_fraction) * progress

