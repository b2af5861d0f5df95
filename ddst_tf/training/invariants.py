"""Sparsity invariants of a run's TrainState, checkable at any step between iterations.

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


class SparsityInvariants:
    """The invariants of ``state``, whose masks started from ``sparse_init`` at (d_G, d_D)."""

    def __init__(self, state, strategy, sparse_init, densities):
        self.state = state
        self.strategy = strategy
        self.g_initial_nnz = initial_nnz(state.g_layers, sparse_init, densities[0])
        self.d_initial_nnz = initial_nnz(state.d_layers, sparse_init, densities[1])

    def d_target_nnz(self):
        """D's nnz target: round(d_D * N_D) once the controller changed D, else the initial nnz."""
        controller = self.state.d_controller
        if controller is not None and int(controller.num_changes.numpy()) > 0:
            return target_nnz(float(controller.density.numpy()),
                              sum(view.layer_sizes(self.state.d_layers)))
        return self.d_initial_nnz

    def violations(self):
        """Every violated invariant of the current state, as readable lines."""
        state = self.state
        found = (_mask_violations("G", state.g_layers) + _mask_violations("D", state.d_layers)
                 + _mask_violations("EMA", state.ema_layers))
        found += _nnz_violation("G", state.g_layers, self.g_initial_nnz)
        found += _nnz_violation("D", state.d_layers, self.d_target_nnz())
        found += _ema_violations(state.g_layers, state.ema_layers)
        for network, layers in [("G", state.g_layers), ("D", state.d_layers),
                                ("EMA", state.ema_layers)]:
            found += _replica_violations(self.strategy, network, layers)
        return found

    def check(self, iteration=None):
        """Raise :class:`InvariantError` listing every violated invariant; None if all hold."""
        found = self.violations()
        if found:
            iteration = int(self.state.iteration.numpy()) if iteration is None else iteration
            raise InvariantError(f"{len(found)} sparsity invariant(s) violated at iteration "
                                 f"{iteration}:\n  " + "\n  ".join(found))
