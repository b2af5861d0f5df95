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
  for drops and for growth. ``+0.0`` and ``-0.0`` are equal scores.
- Selection is an exact radix select, elementwise over the flattened masks
  (no sort, gather or scatter over millions of positions): scores become
  order-preserving 64-bit keys, four 16-bit histogram passes find the k-th
  key among the eligible positions, and ties at that key go to the lowest
  indices by a running count. It picks exactly what a stable top-k over the
  eligible positions picks.
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
        if not allow_regrow_dropped:
            count = tf.minimum(count, _count(~active))
        dropped = _select(_flatten(group_drop), active, count, largest=False)
        after_drop = tf.where(dropped, tf.zeros_like(mask), mask)
        growable = tf.equal(after_drop, 0) if allow_regrow_dropped else ~active
        grown = _select(_flatten(group_grow), growable, count, largest=True)
        new_parts.append(tf.where(grown, tf.ones_like(mask), after_drop))
        dropped_parts.append(tf.cast(dropped, tf.int32))
        grown_parts.append(tf.cast(grown, tf.int32))
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
    return _finish(masks, [tf.where(dropped, tf.zeros_like(mask), mask)],
                   [tf.cast(dropped, tf.int32)], [tf.zeros_like(mask, tf.int32)])


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
    return _finish(masks, [tf.where(grown, tf.ones_like(mask), mask)],
                   [tf.zeros_like(mask, tf.int32)], [tf.cast(grown, tf.int32)])


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


_DIGIT_BITS = 16
_BUCKETS = 1 << _DIGIT_BITS
_SIGN_BIT = -(1 << 63)  # int64 with only the sign bit set


def _order_keys(scores):
    """int64 keys whose signed order is the float order of ``scores`` (-0.0 equals +0.0)."""
    bits = tf.bitcast(tf.cast(scores, tf.float64) + 0.0, tf.int64)
    return tf.where(bits < 0, tf.bitwise.bitwise_xor(bits, tf.constant(2 ** 63 - 1, tf.int64)),
                    bits)


def _digit(keys, shift):
    """Bits [shift, shift + 16) of the keys taken as unsigned (sign bit flipped), as int32."""
    unsigned = tf.bitwise.bitwise_xor(keys, tf.constant(_SIGN_BIT, tf.int64))
    return tf.cast(tf.bitwise.bitwise_and(tf.bitwise.right_shift(unsigned, shift),
                                          _BUCKETS - 1), tf.int32)


def _kth_largest_key(keys, eligible, k):
    """The k-th largest key among the eligible positions (1 <= k <= their number)."""
    in_play, threshold = eligible, tf.constant(0, tf.int64)
    for shift in range(64 - _DIGIT_BITS, -1, -_DIGIT_BITS):
        digits = _digit(keys, shift)
        counts = tf.math.bincount(tf.where(in_play, digits, _BUCKETS), minlength=_BUCKETS + 1,
                                  maxlength=_BUCKETS + 1, dtype=tf.int32)[:_BUCKETS]
        at_least = tf.cumsum(counts, reverse=True)  # at_least[b]: digits >= b
        digit = tf.reduce_max(tf.where(at_least >= k, tf.range(_BUCKETS), 0))
        k -= at_least[digit] - counts[digit]
        in_play &= tf.equal(digits, digit)
        threshold = tf.bitwise.bitwise_or(threshold, tf.bitwise.left_shift(
            tf.cast(digit, tf.int64), shift))
    return tf.bitwise.bitwise_xor(threshold, tf.constant(_SIGN_BIT, tf.int64))


def _select(scores, eligible, count, largest):
    """Bool mask of the ``count`` eligible positions with the highest (or lowest) scores,
    ties to the lower flattened index."""
    scores = tf.convert_to_tensor(scores)
    keys = _order_keys(scores if largest else -scores)
    count = tf.cast(count, tf.int32)
    threshold = _kth_largest_key(keys, eligible, tf.maximum(count, 1))
    above = eligible & (keys > threshold)
    tied = eligible & tf.equal(keys, threshold)
    needed = count - _count(above)
    chosen = above | (tied & (tf.cumsum(tf.cast(tied, tf.int32)) <= needed))
    return chosen & (count > 0)


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
