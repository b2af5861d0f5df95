"""Sparse view of a model, sparse initialisation, scores, prune-and-regrow, schedules, DST."""

from ddst_tf.sparse import view
from ddst_tf.sparse.dynamic import ActivationTracker, DynamicSparsity
from ddst_tf.sparse.initialization import SparseInit
from ddst_tf.sparse.mask_update import MaskUpdateStats, apply_masks, grow, prune, prune_and_regrow
from ddst_tf.sparse.schedules import (ConstantDropFraction, CosineDropFraction,
                                      DropFractionSchedule, LinearDropFraction)

__all__ = ["ActivationTracker", "ConstantDropFraction", "CosineDropFraction",
           "DropFractionSchedule", "DynamicSparsity", "LinearDropFraction", "MaskUpdateStats",
           "SparseInit", "apply_masks", "grow", "prune", "prune_and_regrow", "view"]
