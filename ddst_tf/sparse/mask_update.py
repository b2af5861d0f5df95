"""Prune-and-regrow of binary masks, and applying new masks to masked layers.

Everything here is tensor code (no Python loop over elements; Python loops over
the list of layers only), so it traces into a ``tf.function`` and gives the same
result for the same inputs. Run it in cross-replica context (or after an
all-reduce) with replicated scores, so every replica computes the same masks.

Conventions, shared by every function:
- Drop count: ``k = floor(fraction * nnz)`` (a product within 1e-6 of an integer
  counts as that integer, so 0.7 * 10 drops 7). The official ADAPT global
  magnitude death truncates the same way (``int(nnz * death_rate)``); its
  layerwise death uses ``ceil``.
- Drop picks the k active positions with the lowest drop score; grow picks the
  positions with the highest grow score among positions that are zero after
  the drop. Scores are compared as given; they must not be NaN.
- Ties: positions are ordered by their flattened index (layers in list order,
  each kernel row-major); among equal scores the lower index is picked first,
  for drops and for growth (``tf.math.top_k`` is stable; only eligible
  positions are ranked, so no sentinel value is involved).
- Global scope ranks all layers' positions together (the network's non-zero
  count is preserved); layer scope ranks each layer alone (each layer's count
  is preserved).
"""

from typing import NamedTuple

import tensorflow as tf

from ddst_tf.sparse.scores import optimizer_slots

SCOPES = ("global", "layer")
_INTEGER_TOLERANCE = 1e-6


class MaskUpdateStats(NamedTuple):
    """Per-layer observability of one mask update (lists of scalar tensors).

    ``dropped``/``grown``: positions selected for removal/activation;
    ``regrown``: positions both dropped and regrown (their mask did not change);
    ``turnover``: fraction of the layer's mask entries whose value changed.
    """

    dropped: list
    grown: list
    regrown: list
    turnover: list


def drop_count(fraction, nnz):
    """floor(fraction * nnz) as int32, exact for products that are integers."""
    product = tf.cast(fraction, tf.float64) * tf.cast(nnz, tf.float64)
    return tf.cast(tf.floor(product + _INTEGER_TOLERANCE), tf.int32)


def prune_and_regrow(masks, drop_scores, grow_scores, fraction, scope="global",
                     allow_regrow_dropped=True):
    """Drop ``floor(fraction * nnz)`` active connections and grow as many.

    ``masks``, ``drop_scores``, ``grow_scores``: per-layer tensors of the kernel
    shapes. With ``allow_regrow_dropped`` just-dropped positions may be grown
    again (as in the official code; their weights then keep their values);
    otherwise they are excluded and the count is capped at the number of
    positions that were zero before the drop. Returns (new masks, stats).
    """
    if scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}; allowed: {list(SCOPES)}")
    _check_lengths(masks, drop_scores=drop_scores, grow_scores=grow_scores)
    fraction = _checked_fraction(fraction)
    masks = [tf.convert_to_tensor(m) for m in masks]
    if scope == "global":
        groups = [(masks, drop_scores, grow_scores)]
    else:
        groups = [([m], [d], [g]) for m, d, g in zip(masks, drop_scores, grow_scores)]
    new_parts, dropped_parts, grown_parts = [], [], []
    for group_masks, group_drop, group_grow in groups:
        mask = _flatten(group_masks)
        active = mask > 0
        count = drop_count(fraction, _count(active))
        if allow_regrow_dropped:
            dropped = _select(_flatten(group_drop), active, count, largest=False)
            after_drop = _set(mask, dropped, 0)
            growable = tf.equal(after_drop, 0)
        else:
            count = tf.minimum(count, _count(~active))
            dropped = _select(_flatten(group_drop), active, count, largest=False)
            after_drop = _set(mask, dropped, 0)
            growable = ~active
        grown = _select(_flatten(group_grow), growable, count, largest=True)
        new_parts.append(_set(after_drop, grown, 1))
        dropped_parts.append(_indicator(dropped, mask))
        grown_parts.append(_indicator(grown, mask))
    return _finish(masks, new_parts, dropped_parts, grown_parts)


def prune(masks, drop_scores, count):
    """Remove ``count`` active connections with the lowest drop score, globally.

    For density decreases; ``count`` must lie in [0, nnz]. Returns (new masks, stats).
    """
    _check_lengths(masks, drop_scores=drop_scores)
    masks = [tf.convert_to_tensor(m) for m in masks]
    mask = _flatten(masks)
    active = mask > 0
    count = _checked_count(count, _count(active), "prune", "active connections")
    dropped = _select(_flatten(drop_scores), active, count, largest=False)
    no_growth = tf.zeros([0], tf.int64)
    return _finish(masks, [_set(mask, dropped, 0)], [_indicator(dropped, mask)],
                   [_indicator(no_growth, mask)])


def grow(masks, grow_scores, count):
    """Activate ``count`` inactive connections with the highest grow score, globally.

    For density increases; ``count`` must lie in [0, number of zeros]. Returns
    (new masks, stats).
    """
    _check_lengths(masks, grow_scores=grow_scores)
    masks = [tf.convert_to_tensor(m) for m in masks]
    mask = _flatten(masks)
    inactive = tf.equal(mask, 0)
    count = _checked_count(count, _count(inactive), "grow", "inactive positions")
    grown = _select(_flatten(grow_scores), inactive, count, largest=True)
    no_drop = tf.zeros([0], tf.int64)
    return _finish(masks, [_set(mask, grown, 1)], [_indicator(no_drop, mask)],
                   [_indicator(grown, mask)])


def apply_masks(layers, new_masks, optimizer=None, reset_optimizer_slots=False):
    """Assign new masks to masked layers and zero the kernel where needed.

    kernel <- kernel * old_mask * new_mask: dropped weights become 0, newly
    grown weights start at 0, and positions active before and after (including
    just-dropped-then-regrown ones) keep their values. With
    ``reset_optimizer_slots`` the Adam moments of newly grown positions are
    zeroed (the official code never resets them, hence the default).
    """
    if len(new_masks) != len(layers):
        raise ValueError(f"Got {len(new_masks)} masks for {len(layers)} masked layers")
    if reset_optimizer_slots and optimizer is None:
        raise ValueError("reset_optimizer_slots=True needs the optimizer")
    for layer, new_mask in zip(layers, new_masks):
        kernel = layer.kernel_variable
        old = tf.cast(tf.convert_to_tensor(layer.mask), kernel.dtype)
        new = tf.cast(new_mask, kernel.dtype)
        kernel.assign(tf.convert_to_tensor(kernel) * old * new)
        if reset_optimizer_slots:
            keep = 1 - new * (1 - old)
            for slot in optimizer_slots(optimizer, kernel).values():
                slot.assign(tf.convert_to_tensor(slot) * tf.cast(keep, slot.dtype))
        layer.mask.assign(tf.cast(new_mask, layer.mask.dtype))


def _check_lengths(masks, **per_layer):
    for name, values in per_layer.items():
        if len(values) != len(masks):
            raise ValueError(f"Got {len(values)} {name} for {len(masks)} masks")


def _checked_fraction(fraction):
    if isinstance(fraction, (int, float)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        return tf.constant(fraction, tf.float64)
    fraction = tf.cast(fraction, tf.float64)
    tf.debugging.assert_greater_equal(fraction, tf.constant(0.0, tf.float64),
                                      message="fraction must be in [0, 1]")
    tf.debugging.assert_less_equal(fraction, tf.constant(1.0, tf.float64),
                                   message="fraction must be in [0, 1]")
    return fraction


def _checked_count(count, available, action, what):
    if isinstance(count, int) and count < 0:
        raise ValueError(f"Cannot {action} {count} connections; count must be >= 0")
    count = tf.cast(count, tf.int32)
    tf.debugging.assert_non_negative(count, message=f"{action} count must be >= 0")
    tf.debugging.assert_less_equal(
        count, available, message=f"{action} count exceeds the number of {what}")
    return count


def _flatten(tensors):
    return tf.concat([tf.reshape(tf.convert_to_tensor(t), [-1]) for t in tensors], axis=0)


def _count(condition):
    return tf.reduce_sum(tf.cast(condition, tf.int32))


def _select(scores, eligible, count, largest):
    """Flat indices of ``count`` eligible positions with the highest (or lowest) scores."""
    positions = tf.reshape(tf.where(eligible), [-1])
    values = tf.gather(scores, positions)
    _, picked = tf.math.top_k(values if largest else -values, k=count, sorted=True)
    return tf.gather(positions, picked)


def _set(flat, indices, value):
    updates = tf.fill(tf.shape(indices), tf.constant(value, flat.dtype))
    return tf.tensor_scatter_nd_update(flat, indices[:, None], updates)


def _indicator(indices, like):
    return _set(tf.zeros_like(like, tf.int32), indices, 1)


def _finish(masks, new_parts, dropped_parts, grown_parts):
    """Split flat results back into per-layer masks and per-layer stats."""
    sizes = [m.shape.num_elements() for m in masks]
    old = _flatten(masks)
    new = tf.concat(new_parts, axis=0)
    dropped = tf.split(tf.concat(dropped_parts, axis=0), sizes)
    grown = tf.split(tf.concat(grown_parts, axis=0), sizes)
    changed = tf.split(tf.cast(tf.not_equal(new, old), tf.float64), sizes)
    new_masks = [tf.reshape(part, tf.shape(m)) for part, m in zip(tf.split(new, sizes), masks)]
    stats = MaskUpdateStats(
        dropped=[tf.reduce_sum(d) for d in dropped],
        grown=[tf.reduce_sum(g) for g in grown],
        regrown=[tf.reduce_sum(d * g) for d, g in zip(dropped, grown)],
        turnover=[tf.reduce_mean(c) for c in changed],
    )
    return new_masks, stats
