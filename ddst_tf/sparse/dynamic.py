"""Dynamic sparse training of one network: prune and regrow on a drop-fraction schedule.

SET and RigL differ only in the grow score (``random`` vs ``gradient``); the
paper's G-DST is global magnitude drop with global gradient growth, the drop
fraction following a cosine from 0.5 to 0.005, every 500 iterations.

The run's length is the trainer's fact: recipes pass the class
(``GANTrainer.g_dst = @DynamicSparsity``) and the trainer constructs it with
``num_steps``, which becomes the schedule's ``end_step``.
"""

import gin
import tensorflow as tf

from ddst_tf import validation
from ddst_tf.sparse import mask_update, scores
from ddst_tf.sparse.schedules import DropFractionSchedule


@gin.configurable(denylist=["num_steps"])
class DynamicSparsity:
    """Prune-and-regrow of one network's masks; G and D each get their own.

    ``schedule`` is a drop-fraction schedule class (or any callable) taking
    ``end_step=num_steps``; the schedule ``(step) -> (should_update, fraction)``
    is evaluated on the network's own optimizer-step counter, ``num_steps`` being
    how many steps that network trains in the run.
    """

    def __init__(self, schedule=gin.REQUIRED, *, num_steps, drop_score="magnitude",
                 grow_score="gradient", scope="global", allow_regrow_dropped=True,
                 reset_optimizer_slots=False):
        if isinstance(schedule, DropFractionSchedule) or not callable(schedule):
            raise validation.InvalidValueError(
                f"DynamicSparsity.schedule must be a schedule class such as "
                f"@CosineDropFraction (without parentheses: it is given end_step); got "
                f"{schedule!r}")
        self.num_steps = validation.positive_int("DynamicSparsity.num_steps", num_steps)
        self.schedule = schedule(end_step=self.num_steps)
        self.drop_score = scores.drop_score_fn(drop_score)
        self.grow_score_name = grow_score
        self.grow_score = scores.grow_score_fn(grow_score)
        self.scope = validation.one_of("DynamicSparsity.scope", scope, mask_update.SCOPES)
        self.allow_regrow_dropped = bool(allow_regrow_dropped)
        self.reset_optimizer_slots = bool(reset_optimizer_slots)

    @property
    def needs_gradients(self):
        return self.grow_score_name == "gradient"

    def should_update(self, step):
        """Whether the schedule fires at this (host-side, integer) step."""
        return bool(self.schedule(step)[0])

    def update(self, layers, gradients, optimizer, step, seed, network_id):
        """One prune-and-regrow at ``step``; call in cross-replica context.

        ``gradients``: all-reduced effective-kernel gradients (None unless the grow
        score is ``gradient``). Returns per-layer :class:`MaskUpdateStats`.
        """
        _, fraction = self.schedule(step)
        states = scores.layer_states(
            layers, gradients=gradients,
            optimizer=optimizer if self.grow_score_name == "momentum" else None,
            seed=seed, network_id=network_id, step=step)
        new_masks, stats = mask_update.prune_and_regrow(
            [s.mask for s in states], scores.compute_scores(self.drop_score, states),
            scores.compute_scores(self.grow_score, states), fraction, scope=self.scope,
            allow_regrow_dropped=self.allow_regrow_dropped)
        mask_update.apply_masks(layers, new_masks, optimizer=optimizer,
                                reset_optimizer_slots=self.reset_optimizer_slots)
        return stats


class ActivationTracker(tf.Module):
    """In-Time Over-Parameterisation (ITOP) rate: the fraction of weights ever active."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self._layers = layers
        self.ever_active = [
            tf.Variable(tf.cast(layer.mask, tf.bool), trainable=False,
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                        name=f"{layer.name}_ever_active")
            for layer in layers]

    def reset(self):
        for flag, layer in zip(self.ever_active, self._layers):
            flag.assign(tf.cast(layer.mask, tf.bool))

    def update(self):
        for flag, layer in zip(self.ever_active, self._layers):
            flag.assign(tf.logical_or(flag, tf.cast(layer.mask, tf.bool)))

    def rate(self):
        active = tf.add_n([tf.math.count_nonzero(f, dtype=tf.int64) for f in self.ever_active])
        total = sum(int(tf.size(f)) for f in self.ever_active)
        return tf.cast(active, tf.float64) / total
