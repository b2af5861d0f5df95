"""MaskEvents: what follows a change of G's or D's masks, one path for both networks.

After G's prune-and-regrow (inside the compiled step) and after each D density decision (made
here, on the host, from the BR window and D's growth gradients), the same things happen: the
ITOP tracker takes the new masks, the FLOPs accountant opens a piece at the new densities,
TensorBoard gets turnover, ITOP and densities, and the log gets one line.
"""

from absl import logging

from ddst_tf.balance.density_controller import Decision
from ddst_tf.sparse import view
from ddst_tf.training import summaries

# D decisions that change D's masks.
MASK_CHANGING_DECISIONS = (Decision.INCREASE, Decision.DECREASE, Decision.DST)


class MaskEvents:
    """Records G and D mask changes of a run's :class:`TrainState`."""

    def __init__(self, state, seed):
        self.state = state
        self.seed = seed

    def g_masks_changed(self, iteration, turnover):
        """After G's prune-and-regrow at ``iteration``; ``turnover``: per-layer fractions."""
        turnover = turnover.numpy()
        self._record("G", iteration, self.state.g_layers, self.state.g_itop, turnover)
        logging.info("iteration %d: G prune-and-regrow, mean turnover %.4f", iteration,
                     float(turnover.mean()))

    def decide_d_density(self, iteration, d_gradients):
        """Run the D density controller at a ΔT_D boundary (host side, eager); returns its result."""
        state = self.state
        br_value = float(state.balance_ratio.value())
        result = state.d_controller.step(
            iteration, br_value, bool(state.balance_ratio.is_full()), state.d_layers,
            d_gradients=d_gradients, d_optimizer=state.d_optimizer, seed=self.seed,
            d_step=int(state.d_optimizer.iterations.numpy()))
        summaries.write_density_decision(iteration, result)
        changed = result["decision"] in MASK_CHANGING_DECISIONS
        self._record("D", iteration, state.d_layers, state.d_itop, None, changed=changed)
        logging.info("iteration %d: BR %.4f -> D %s, d_D %.4f", iteration, br_value,
                     result["decision"].name, result["density"])
        return result

    def _record(self, network, iteration, layers, itop, turnover, changed=True):
        if changed:
            itop.update()
            self.state.flops.on_change(
                iteration, **{f"{network.lower()}_densities": view.layer_densities(layers)})
        summaries.write_mask_event(network, iteration, layers, itop.rate(), turnover)
