"""Sparsity invariants of a GANTrainer, checkable at any step between iterations.

- every mask is binary (entries 0 or 1);
- every kernel (G, D and the EMA generator) is zero where its mask is zero;
- G's nnz equals its initial nnz (DST prunes and regrows equally many);
- D's nnz equals round(d_D * N_D) of the controller's density once the controller has
  changed D, else D's initial nnz;
- the EMA generator has G's masks;
- under a strategy, every replica holds the same mask.
"""

import numpy as np

from ddst_tf.balance.density_controller import target_nnz
from ddst_tf.sparse import view
from ddst_tf.sparse.initialization import SparseInit


class InvariantError(AssertionError):
    """One or more sparsity invariants do not hold; the message lists every violation."""


def initial_nnz(layers, method, density):
    """nnz ``SparseInit(method, density)`` gives ``layers`` (sum of per-layer rounded counts)."""
    densities = SparseInit(method=method, density=density).densities(layers)
    return sum(round(densities[layer.name] * size)
               for layer, size in zip(layers, view.layer_sizes(layers)))


def d_target_nnz(trainer):
    """D's nnz target: the controller's round(d_D * N_D) once it changed D, else the initial nnz."""
    controller = trainer.d_controller
    if controller is not None and int(controller.num_changes.numpy()) > 0:
        return target_nnz(float(controller.density.numpy()),
                          sum(view.layer_sizes(trainer.d_layers)))
    return initial_nnz(trainer.d_layers, trainer.sparse_init, trainer.d_density)


def _mask_violations(network, layers):
    found = []
    for layer in layers:
        mask = np.asarray(layer.mask.numpy())
        if not np.all((mask == 0) | (mask == 1)):
            values = np.unique(mask[(mask != 0) & (mask != 1)])[:3]
            found.append(f"{network} {layer.name}: mask is not binary (values {values.tolist()})")
        kernel = np.asarray(layer.kernel_variable.numpy())
        leaked = int(np.count_nonzero(kernel[mask == 0]))
        if leaked:
            found.append(f"{network} {layer.name}: {leaked} masked weights are non-zero")
    return found


def _nnz_violation(network, layers, expected):
    nnz = int(view.total_nnz(layers))
    if nnz != expected:
        return [f"{network}: nnz {nnz} != target {expected}"]
    return []


def _ema_violations(g_layers, ema_layers):
    found = []
    for layer, ema_layer in zip(g_layers, ema_layers, strict=True):
        if not np.array_equal(layer.mask.numpy(), ema_layer.mask.numpy()):
            found.append(f"EMA {ema_layer.name}: mask differs from G's {layer.name}")
    return found


def _replica_violations(strategy, network, layers):
    found = []
    for layer in layers:
        copies = [np.asarray(v.numpy())
                  for v in strategy.experimental_local_results(layer.mask.value)]
        differing = [index for index, copy in enumerate(copies[1:], 1)
                     if not np.array_equal(copy, copies[0])]
        if differing:
            found.append(f"{network} {layer.name}: mask on replicas {differing} differs from "
                         f"replica 0")
    return found


def invariant_violations(trainer):
    """Every violated invariant of ``trainer``'s current state, as readable lines."""
    ema_layers = view.masked_layers(trainer.G_ema)
    found = (_mask_violations("G", trainer.g_layers) + _mask_violations("D", trainer.d_layers)
             + _mask_violations("EMA", ema_layers))
    found += _nnz_violation("G", trainer.g_layers, initial_nnz(
        trainer.g_layers, trainer.sparse_init, trainer.g_density))
    found += _nnz_violation("D", trainer.d_layers, d_target_nnz(trainer))
    found += _ema_violations(trainer.g_layers, ema_layers)
    for network, layers in [("G", trainer.g_layers), ("D", trainer.d_layers),
                            ("EMA", ema_layers)]:
        found += _replica_violations(trainer.strategy, network, layers)
    return found


def check_invariants(trainer):
    """Raise :class:`InvariantError` listing every violated invariant; None if all hold."""
    found = invariant_violations(trainer)
    if found:
        iteration = int(trainer.iteration.numpy())
        raise InvariantError(f"{len(found)} sparsity invariant(s) violated at iteration "
                             f"{iteration}:\n  " + "\n  ".join(found))
