"""Training FLOPs accumulated piecewise over mask and density changes, in checkpointable state.

Densities are constant between mask events, so the training FLOPs are a sum of
pieces ``rate x iterations`` with the per-iteration rate of each piece fixed by
the densities at its start. This equals the official code's accumulation (a
``prune_every_k_steps`` block at the current densities per mask change, the
blocks summing to the whole run). Used eagerly: densities are Python dicts,
e.g. ``ddst_tf.sparse.view.layer_densities(layers)``.
"""

import tensorflow as tf

from ddst_tf.flops.counting import forward_flops, iteration_flops


def _variable(name, dtype=tf.float64):
    return tf.Variable(tf.zeros((), dtype), trainable=False, name=name)


class FlopsAccountant(tf.Module):
    """G and D training FLOPs so far; all state in tf.Variables (float64 FLOPs, int64 iterations).

    ``g_layers``/``d_layers``: [LayerFlops] of G and D (``counting.layer_flops``).
    Batch sizes, ``n_critic`` and ``paper_convention`` are as in
    ``counting.iteration_flops``.
    """

    def __init__(self, g_layers, d_layers, gen_batch_size, disc_batch_size, n_critic,
                 paper_convention=True, name="flops_accountant"):
        super().__init__(name=name)
        self._g_layers = list(g_layers)
        self._d_layers = list(d_layers)
        self._batches = (gen_batch_size, disc_batch_size, n_critic)
        self._paper_convention = bool(paper_convention)
        self.dense_rates = self._rates(None, None)
        self.g_rate = _variable("g_rate")
        self.d_rate = _variable("d_rate")
        self.g_closed = _variable("g_closed")
        self.d_closed = _variable("d_closed")
        self.origin = _variable("origin", tf.int64)
        self.piece_start = _variable("piece_start", tf.int64)
        self.g_rate.assign(self.dense_rates[0])
        self.d_rate.assign(self.dense_rates[1])

    def _rates(self, g_densities, d_densities):
        """Per-iteration (G, D) FLOPs at the given densities (None: dense)."""
        return iteration_flops(forward_flops(self._g_layers, g_densities),
                               forward_flops(self._d_layers, d_densities), *self._batches,
                               paper_convention=self._paper_convention)

    def _elapsed(self, iteration):
        """Iterations of the open piece up to ``iteration``; raises if it goes backwards."""
        start = int(self.piece_start.numpy())
        if int(iteration) < start:
            raise ValueError(f"iteration {iteration!r} is before the start of the current "
                             f"FLOPs piece ({start}); iterations must not go backwards")
        return int(iteration) - start

    def reset(self, iteration, g_densities, d_densities):
        """Start counting at ``iteration`` with zero totals at these densities."""
        g_rate, d_rate = self._rates(g_densities, d_densities)
        self.g_rate.assign(g_rate)
        self.d_rate.assign(d_rate)
        self.g_closed.assign(0.0)
        self.d_closed.assign(0.0)
        self.origin.assign(int(iteration))
        self.piece_start.assign(int(iteration))

    def on_change(self, iteration, g_densities=None, d_densities=None):
        """Close the piece up to ``iteration`` at the old rates; continue at the new densities
        (None keeps that network's rate)."""
        g_total, d_total = self.totals(iteration)
        self.g_closed.assign(g_total)
        self.d_closed.assign(d_total)
        self.piece_start.assign(int(iteration))
        if g_densities is not None:
            self.g_rate.assign(self._rates(g_densities, None)[0])
        if d_densities is not None:
            self.d_rate.assign(self._rates(None, d_densities)[1])

    def totals(self, iteration):
        """(G, D) training FLOPs from the reset up to ``iteration``, open piece included."""
        elapsed = self._elapsed(iteration)
        return (float(self.g_closed.numpy() + self.g_rate.numpy() * elapsed),
                float(self.d_closed.numpy() + self.d_rate.numpy() * elapsed))

    def dense_totals(self, num_iterations):
        """(G, D) training FLOPs of ``num_iterations`` dense iterations."""
        return self.dense_rates[0] * num_iterations, self.dense_rates[1] * num_iterations

    def normalized(self, iteration):
        """(G + D) / (dense G + dense D) over the same iterations; at the reset iteration
        itself, the ratio of the current per-iteration rates."""
        total = sum(self.totals(iteration))
        elapsed = int(iteration) - int(self.origin.numpy())
        if elapsed == 0:
            return float(self.g_rate.numpy() + self.d_rate.numpy()) / sum(self.dense_rates)
        return total / sum(self.dense_totals(elapsed))
