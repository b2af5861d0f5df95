"""Registries of per-layer score functions for dynamic sparse training.

A score function maps one layer's :class:`LayerState` to a tensor shaped like
the layer's kernel (jaxpruner style). Drop scores rank *active* connections
(lowest score is removed first); grow scores rank *inactive* ones (highest
score is activated first). Which positions are eligible is decided by
``mask_update``, not here, so a score may be anything at other positions.

Drop scores: ``magnitude`` (|w|, RigL/SET/ADAPT), ``set_magnitude_sign`` (SET's
separate treatment of positive and negative weights).
Grow scores: ``gradient`` (|dL/dW_eff|, RigL), ``random`` (SET), ``momentum``
(|Adam first moment|, SNFS).
"""

from typing import NamedTuple, Optional

import keras
import tensorflow as tf


class LayerState(NamedTuple):
    """The per-layer tensors a score function may read.

    ``gradient`` is the dense gradient with respect to the effective kernel
    (non-zero at pruned positions), ``momentum`` the optimizer's first moment of
    the kernel, ``seed`` a shape-[2] int64 seed for stateless randomness
    (see :func:`layer_seed`).
    """

    weight: tf.Tensor
    mask: tf.Tensor
    gradient: Optional[tf.Tensor] = None
    momentum: Optional[tf.Tensor] = None
    seed: Optional[tf.Tensor] = None


_SOURCE_ARG = {"gradient": "gradients", "momentum": "optimizer", "seed": "seed"}


def _required(state, field, score_name):
    value = getattr(state, field)
    if value is None:
        raise ValueError(
            f"Score {score_name!r} needs LayerState.{field}, which is None; build the "
            f"states with layer_states(..., {_SOURCE_ARG[field]}=...)")
    return value


def magnitude_score(state):
    """|w|: the smallest-magnitude active weights are dropped first."""
    return tf.abs(tf.convert_to_tensor(state.weight))


def set_magnitude_sign_score(state):
    """SET's drop score: rank within each sign group, normalised by group size.

    SET (Mocanu et al. 2018, Algorithm 1 and its reference code) removes a
    fraction zeta of the smallest positive weights and a fraction zeta of the
    negative weights closest to zero, each group separately. The score of a
    positive weight is (its ascending rank among positive weights + 1) / (number
    of positive weights); a negative weight gets (its rank by |w| among negative
    weights + 1) / (number of negative weights); exact zeros score 0. Dropping
    the k = zeta * nnz lowest scores therefore removes about a fraction zeta of
    each sign group (fraction/2 of the drop count from each group when the groups
    are the same size). Ties inside a group are ranked by flattened index.
    Pruned positions hold exact zeros, so they fall in neither group.
    """
    weight = tf.reshape(tf.convert_to_tensor(state.weight), [-1])
    positive = weight > 0
    negative = weight < 0
    dtype = weight.dtype
    big = tf.constant(float("inf"), dtype)
    pos_rank = _ascending_rank(tf.where(positive, weight, big))
    neg_rank = _ascending_rank(tf.where(negative, -weight, big))
    n_pos = tf.maximum(tf.reduce_sum(tf.cast(positive, dtype)), 1.0)
    n_neg = tf.maximum(tf.reduce_sum(tf.cast(negative, dtype)), 1.0)
    score = tf.where(positive, (pos_rank + 1.0) / n_pos,
                     tf.where(negative, (neg_rank + 1.0) / n_neg, tf.zeros_like(weight)))
    return tf.reshape(score, tf.shape(state.weight))


def _ascending_rank(values):
    """0-based rank of each entry in ascending order, ties by index (stable)."""
    order = tf.argsort(values, stable=True)
    return tf.cast(tf.math.invert_permutation(order), values.dtype)


def gradient_score(state):
    """|dL/dW_eff|: connections with the largest dense gradient are grown first (RigL)."""
    return tf.abs(tf.convert_to_tensor(_required(state, "gradient", "gradient")))


def random_score(state):
    """Uniform [0, 1) scores from the layer's stateless seed (SET regrowth).

    The same seed gives the same scores on every replica and every re-run.
    """
    seed = _required(state, "seed", "random")
    return tf.random.stateless_uniform(tf.shape(state.mask), seed=seed, dtype=tf.float32)


def momentum_score(state):
    """|Adam first moment| of the kernel (SNFS momentum growth)."""
    return tf.abs(tf.convert_to_tensor(_required(state, "momentum", "momentum")))


DROP_SCORES = {"magnitude": magnitude_score, "set_magnitude_sign": set_magnitude_sign_score}
GROW_SCORES = {"gradient": gradient_score, "random": random_score, "momentum": momentum_score}


def drop_score_fn(name):
    """The drop score function registered under ``name``."""
    return _lookup(DROP_SCORES, name, "drop")


def grow_score_fn(name):
    """The grow score function registered under ``name``."""
    return _lookup(GROW_SCORES, name, "grow")


def _lookup(registry, name, kind):
    if name not in registry:
        raise ValueError(
            f"Unknown {kind} score {name!r}; known {kind} scores: {sorted(registry)}")
    return registry[name]


def compute_scores(score, states):
    """Apply a score (a function or a registered name) to every layer state.

    Names are looked up in both registries (drop and grow names are disjoint).
    """
    if isinstance(score, str):
        known = {**DROP_SCORES, **GROW_SCORES}
        fn = _lookup(known, score, "drop or grow")
    else:
        fn = score
    return [fn(state) for state in states]


def layer_seed(seed, network_id, step, layer_index):
    """Shape-[2] int64 stateless seed derived from (seed, network, step, layer).

    Every input is replicated state, so all replicas derive the same seed.
    """
    base = tf.stack([tf.cast(seed, tf.int64), tf.cast(network_id, tf.int64)])
    folded = tf.random.experimental.stateless_fold_in(base, tf.cast(step, tf.int64))
    return tf.random.experimental.stateless_fold_in(
        folded, tf.constant(layer_index, tf.int64))


def optimizer_slots(optimizer, variable):
    """{"momentum": m, "velocity": v[, "velocity_hat": vh]} of an Adam-family optimizer.

    Keras 3 Adam/AdamW keep per-variable slots in ``_momentums``/``_velocities``
    lists indexed by ``optimizer._get_variable_index(variable)``.
    """
    if not isinstance(optimizer, keras.optimizers.Adam):
        raise ValueError(
            f"Optimizer {type(optimizer).__name__} has no Adam moments; momentum "
            f"scores and slot resets support keras.optimizers.Adam and its subclasses "
            f"(AdamW)")
    if not optimizer.built:
        raise ValueError(
            "The optimizer is not built yet; run one optimizer step (or "
            "optimizer.build(model.trainable_variables)) before reading its moments")
    index = optimizer._get_variable_index(variable)
    slots = {"momentum": optimizer._momentums[index],
             "velocity": optimizer._velocities[index]}
    if getattr(optimizer, "amsgrad", False):
        slots["velocity_hat"] = optimizer._velocity_hats[index]
    return slots


def layer_states(layers, gradients=None, optimizer=None, seed=None, network_id=0,
                 step=0):
    """One :class:`LayerState` per masked layer, with whichever inputs are given.

    ``gradients``: effective-kernel gradients in layer order
    (``masked.effective_kernel_gradients``); ``optimizer``: an Adam-family
    optimizer (first moments); ``seed``: an int for the ``random`` grow score,
    combined with ``network_id``, ``step`` and the layer index.
    """
    if gradients is not None and len(gradients) != len(layers):
        raise ValueError(
            f"Got {len(gradients)} gradients for {len(layers)} masked layers")
    states = []
    for index, layer in enumerate(layers):
        kernel = layer.kernel_variable
        states.append(LayerState(
            weight=tf.convert_to_tensor(kernel),
            mask=tf.convert_to_tensor(layer.mask),
            gradient=None if gradients is None else gradients[index],
            momentum=(None if optimizer is None else
                      tf.convert_to_tensor(optimizer_slots(optimizer, kernel)["momentum"])),
            seed=None if seed is None else layer_seed(seed, network_id, step, index),
        ))
    return states
