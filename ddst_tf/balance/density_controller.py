"""Balance-ratio-driven density control of the discriminator (ADAPT, DDA, linear, static).

Every ΔT_D iterations (never at the last one) the controller compares the windowed balance
ratio with its bounds [B-, B+] (spec Sec. 4.5 "Reconstructed Algorithm" and 4.6):

- BR >= B+ (D too weak): if d_D < cap, d_D <- min(cap, d_D + Δd) and D grows
  round(d_D N) - nnz connections globally by the growth score; in strict mode at the cap,
  D runs one prune-and-regrow step instead (global magnitude drop, nnz constant, drop
  fraction cosine 0.5 -> 0.005 over num_iterations * n_critic D steps); else nothing.
- BR <= B- (D too strong): d_D <- max(floor, d_D - Δd) and D prunes nnz - round(d_D N)
  connections with the smallest |w| globally.

Modes: ``relaxed`` (cap 1), ``strict`` (cap d_max), ``dda`` (relaxed control, the DDA
baseline's bounds; keeping G static is the trainer's job), ``linear`` (d_D rises linearly
from its initial value towards 1 by random growth, no BR), ``static`` (never changes D).

The initial density, run length and n_critic are facts of the run, not settings: recipes
pass the class (``GANTrainer.d_controller = @DensityController``) and the trainer constructs
it with them (gin may not bind them).
"""

import enum
import math

import gin
import tensorflow as tf

from ddst_tf import validation
from ddst_tf.sparse import mask_update, scores, view
from ddst_tf.sparse.schedules import CosineDropFraction

MODES = ("relaxed", "strict", "dda", "linear", "static")
# Modes whose decisions come from the balance ratio.
BR_DRIVEN_MODES = ("relaxed", "strict", "dda")
# Defaults of the official scripts (adapt_relax.sh, adapt_strict.sh, baseline2.sh), per mode.
MODE_DEFAULTS = {
    "relaxed": {"bounds": (0.45, 0.55), "update_every": 1000, "grow_score": "gradient"},
    "strict": {"bounds": (0.45, 0.55), "update_every": 2000, "grow_score": "gradient"},
    "dda": {"bounds": (0.50, 0.65), "update_every": 2000, "grow_score": "gradient"},
    "linear": {"bounds": (0.45, 0.55), "update_every": 1000, "grow_score": "random"},
    "static": {"bounds": (0.45, 0.55), "update_every": 1000, "grow_score": "gradient"},
}
D_NETWORK_ID = 1  # network id of D in scores.layer_seed (G is 0)
DENSITY_TOLERANCE = 1e-9  # densities closer than this are equal (0.1 + 0.05 * k is inexact)
_DENSITY_DECIMALS = 12  # new densities are rounded to this many decimals, so no error accumulates


class Decision(enum.IntEnum):
    """What one call of the controller decided (stored as an int, logged by name)."""

    NONE = 0  # not a check iteration, BR inside the bounds, BR undefined (NaN), or static mode
    WAIT = 1  # check iteration, but the BR window is not full yet
    INCREASE = 2  # density raised (grow)
    DECREASE = 3  # density lowered (prune)
    DST = 4  # strict mode at the cap with BR >= B+: prune-and-regrow, nnz constant
    AT_LIMIT = 5  # BR asks for a change but the density is already at the cap or floor


def target_nnz(density, size):
    """round(density * size), halves rounded up, robust to float error in the product."""
    return int(math.floor(round(float(density) * size, 6) + 0.5))


@gin.configurable(denylist=["initial_density", "num_iterations", "n_critic"])
class DensityController(tf.Module):
    """Stateful, checkpointable D density controller; see the module docstring for the rule.

    ``inclusive=True`` compares BR with ``>=``/``<=`` (official code), ``False`` with
    ``>``/``<`` (poster). ``bounds``, ``update_every`` (ΔT_D, iterations) and ``grow_score``
    default per mode to the official scripts (:data:`MODE_DEFAULTS`). ``floor`` is the
    official code's lower limit (the poster's is 0). State in variables: the target density
    ``density`` (float64), ``last_decision`` and its iteration, ``num_changes`` (mask-changing
    decisions), ``num_dst`` and ``last_dst_fraction``.
    """

    def __init__(self, mode=gin.REQUIRED, *, initial_density, num_iterations, n_critic,
                 bounds=None, delta=0.05, update_every=None, floor=0.05, d_max=0.5,
                 inclusive=True, grow_score=None, drop_score="magnitude",
                 dst_initial_fraction=0.5, dst_final_fraction=0.005, name="density_controller"):
        super().__init__(name=name)
        self.mode = validation.one_of("DensityController.mode", mode, MODES)
        defaults = MODE_DEFAULTS[mode]
        self.initial_density = validation.density("initial d_D (GANTrainer.densities[1])",
                                                  initial_density)
        self.num_iterations = validation.positive_int("GANTrainer.num_iterations",
                                                      num_iterations)
        self.n_critic = validation.positive_int("GANTrainer.n_critic", n_critic)
        self.update_every = validation.positive_int(
            "DensityController.update_every",
            defaults["update_every"] if update_every is None else update_every)
        self.lower_bound, self.upper_bound = _bounds(
            defaults["bounds"] if bounds is None else bounds)
        self.delta = validation.density("DensityController.delta", delta)
        self.floor = validation.density("DensityController.floor", floor)
        self.d_max = validation.density("DensityController.d_max", d_max)
        self.inclusive = bool(inclusive)
        self.grow_score = defaults["grow_score"] if grow_score is None else grow_score
        scores.grow_score_fn(self.grow_score)
        self.drop_score = drop_score
        scores.drop_score_fn(self.drop_score)
        if mode in ("relaxed", "strict", "dda") and self.initial_density < self.floor:
            raise ValueError(
                f"initial_density={initial_density} is below floor={floor}; the floor must "
                f"not exceed the initial density")
        self.dst_schedule = None
        if mode == "strict":
            if self.d_max < self.initial_density:
                raise ValueError(
                    f"d_max={d_max} is below initial_density={initial_density}; strict mode "
                    f"needs d_max >= the initial D density")
            self.dst_schedule = CosineDropFraction(
                initial_fraction=dst_initial_fraction,
                update_every=self.update_every * self.n_critic,
                end_step=self.num_iterations * self.n_critic,
                final_fraction=dst_final_fraction)
        with self.name_scope:
            self.density = _state(tf.constant(self.initial_density, tf.float64), "density")
            self.last_decision = _state(tf.constant(int(Decision.NONE), tf.int32),
                                        "last_decision")
            self.last_decision_iteration = _state(tf.constant(0, tf.int64),
                                                  "last_decision_iteration")
            self.num_changes = _state(tf.constant(0, tf.int64), "num_changes")
            self.num_dst = _state(tf.constant(0, tf.int64), "num_dst")
            self.last_dst_fraction = _state(tf.constant(0.0, tf.float64), "last_dst_fraction")

    @property
    def uses_balance_ratio(self):
        """Whether this controller's decisions come from the balance ratio."""
        return self.mode in BR_DRIVEN_MODES

    @property
    def cap(self):
        """Highest density the controller may reach: d_max in strict mode, else 1."""
        return self.d_max if self.mode == "strict" else 1.0

    def is_check_iteration(self, iteration):
        """True at iterations 0 < t < T with t % ΔT_D == 0 (no decision at the last one)."""
        iteration = int(iteration)
        return (0 < iteration < self.num_iterations and iteration % self.update_every == 0
                and self.mode != "static")

    def decide(self, br_value, window_full, iteration, density=None):
        """The :class:`Decision` for this iteration; reads (never changes) the state.

        ``density`` defaults to the current target density variable.
        """
        if not self.is_check_iteration(iteration):
            return Decision.NONE
        density = float(self.density.numpy()) if density is None else float(density)
        if self.mode == "linear":
            return (Decision.INCREASE if self._linear_target(iteration) > density
                    + DENSITY_TOLERANCE else Decision.AT_LIMIT)
        if not bool(window_full):
            return Decision.WAIT
        br_value = float(br_value)
        if not math.isfinite(br_value):
            return Decision.NONE
        if self._above(br_value):
            if density < self.cap - DENSITY_TOLERANCE:
                return Decision.INCREASE
            return Decision.DST if self.mode == "strict" else Decision.AT_LIMIT
        if self._below(br_value):
            if self._decreased(density) < density - DENSITY_TOLERANCE:
                return Decision.DECREASE
            return Decision.AT_LIMIT
        return Decision.NONE

    def target_density(self, decision, iteration, density=None):
        """The density after ``decision`` at ``iteration`` (unchanged unless INCREASE/DECREASE)."""
        density = float(self.density.numpy()) if density is None else float(density)
        if decision == Decision.INCREASE:
            if self.mode == "linear":
                return self._linear_target(iteration)
            return round(min(self.cap, density + self.delta), _DENSITY_DECIMALS)
        if decision == Decision.DECREASE:
            return self._decreased(density)
        return density

    def step(self, iteration, br_value, window_full, d_layers, d_gradients=None,
             d_optimizer=None, seed=0, d_step=None):
        """Decide and apply the decision to D's masked layers; returns what happened.

        Call eagerly in cross-replica context (between training steps, not inside
        ``strategy.run``). ``d_gradients``: D's dense effective-kernel gradients of its last
        step in layer order (needed by ``gradient`` growth); ``d_optimizer``: needed by
        ``momentum`` growth; ``seed``: stateless seed of ``random`` growth; ``d_step``: D's
        optimizer step count for the strict-mode drop fraction (default
        ``iteration * n_critic``). Returns {"decision", "density", "nnz", "grown", "dropped",
        "turnover", "dst_fraction"} as Python values.
        """
        if not tf.executing_eagerly():
            raise RuntimeError("DensityController.step must run eagerly (it is called from the "
                               "host at ΔT_D boundaries), not inside a tf.function")
        if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
            raise RuntimeError("DensityController.step must run in cross-replica context, not "
                               "inside strategy.run (it assigns D's masks)")
        decision = self.decide(br_value, window_full, iteration)
        d_step = int(iteration) * self.n_critic if d_step is None else int(d_step)
        old_masks = [tf.convert_to_tensor(layer.mask) for layer in d_layers]
        new_density = self.target_density(decision, iteration)
        dst_fraction = 0.0
        if decision in (Decision.INCREASE, Decision.DECREASE, Decision.DST):
            states = scores.layer_states(
                d_layers, gradients=d_gradients,
                optimizer=d_optimizer if self.grow_score == "momentum" else None,
                seed=seed, network_id=D_NETWORK_ID, step=d_step)
            total = sum(view.layer_sizes(d_layers))
            new_masks = self._resize(old_masks, states, target_nnz(new_density, total))
            if decision == Decision.DST:
                dst_fraction = float(self.dst_schedule(d_step)[1].numpy())
                new_masks, _ = mask_update.prune_and_regrow(
                    new_masks, scores.compute_scores(self.drop_score, states),
                    scores.compute_scores(self.grow_score, states), dst_fraction, "global")
                self.num_dst.assign_add(1)
                self.last_dst_fraction.assign(dst_fraction)
            mask_update.apply_masks(d_layers, new_masks)
            self.density.assign(new_density)
            self.num_changes.assign_add(1)
        if self.is_check_iteration(iteration):
            self.last_decision.assign(int(decision))
            self.last_decision_iteration.assign(int(iteration))
        return {"decision": decision, "density": float(self.density.numpy()),
                "dst_fraction": dst_fraction, **_mask_change(old_masks, d_layers)}

    def _above(self, br_value):
        if self.inclusive:
            return br_value >= self.upper_bound
        return br_value > self.upper_bound

    def _below(self, br_value):
        if self.inclusive:
            return br_value <= self.lower_bound
        return br_value < self.lower_bound

    def _decreased(self, density):
        return round(max(self.floor, density - self.delta), _DENSITY_DECIMALS)

    def _linear_target(self, iteration):
        progress = int(iteration) / self.num_iterations
        return round(self.initial_density + (1.0 - self.initial_density) * progress,
                     _DENSITY_DECIMALS)

    def _resize(self, masks, states, wanted):
        """Grow (by the growth score) or prune (by the drop score) to ``wanted`` non-zeros."""
        nnz = int(sum(tf.math.count_nonzero(m) for m in masks))
        if wanted > nnz:
            return mask_update.grow(
                masks, scores.compute_scores(self.grow_score, states), wanted - nnz)[0]
        if wanted < nnz:
            return mask_update.prune(
                masks, scores.compute_scores(self.drop_score, states), nnz - wanted)[0]
        return masks


def _mask_change(old_masks, layers):
    """nnz, grown/dropped counts and turnover (fraction of entries changed) over all layers."""
    old = tf.concat([tf.reshape(m, [-1]) > 0 for m in old_masks], 0)
    new = tf.concat([tf.reshape(layer.mask, [-1]) > 0 for layer in layers], 0)
    grown = int(tf.math.count_nonzero(new & ~old))
    dropped = int(tf.math.count_nonzero(old & ~new))
    return {"nnz": int(tf.math.count_nonzero(new)), "grown": grown, "dropped": dropped,
            "turnover": (grown + dropped) / int(tf.size(new))}


def _state(initial, name):
    return tf.Variable(initial, trainable=False, name=name,
                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _bounds(bounds):
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise validation.InvalidValueError(
            f"DensityController.bounds must be two finite numbers (B-, B+); got {bounds!r}")
    lower = validation.real("DensityController.bounds[0] (B-)", bounds[0])
    upper = validation.real("DensityController.bounds[1] (B+)", bounds[1])
    if not lower < upper:
        raise validation.InvalidValueError(
            f"DensityController.bounds need B- < B+; got B-={lower} and B+={upper}")
    return lower, upper
