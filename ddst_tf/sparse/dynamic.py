"""Dynamic sparse training of one network: prune and regrow on a drop-fraction schedule.

SET and RigL differ only in the grow score (``random`` vs ``gradient``); the
paper's G-DST is global magnitude drop with global gradient growth, the drop
fraction following a cosine from 0.5 to 0.005, every 500 iterations.
"""

import gin
import tensorflow as tf

from ddst_tf.sparse import mask_update, scores


@gin.configurable
class DynamicSparsity:
    """Prune-and-regrow of one network's masks; G and D each get their own.

    ``schedule(step) -> (should_update, fraction)`` is evaluated on the
    network's own optimizer-step counter.
    """

    def __init__(self, schedule=gin.REQUIRED, drop_score="magnitude", grow_score="gradient",
                 scope="global", allow_regrow_dropped=True, reset_optimizer_slots=False):
        self.schedule = schedule
        self.drop_score = scores.drop_score_fn(drop_score)
        self.grow_score_name = grow_score
        self.grow_score = scores.grow_score_fn(grow_score)
        if scope not in mask_update.SCOPES:
            raise ValueError(f"Unknown DST scope {scope!r}; allowed: {list(mask_update.SCOPES)}")
        self.scope = scope
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
