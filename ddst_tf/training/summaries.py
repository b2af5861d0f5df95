"""TensorBoard summaries of a training run; a default summary writer must be active.

Each function receives the values it writes, never the trainer.
"""

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from ddst_tf.sparse import view


def write_periodic(step, losses, state):
    """Every ``summary_every``: losses, densities per layer, ITOP, training FLOPs."""
    for name, value in losses.items():
        tf.summary.scalar(f"losses/{name}", value, step=step)
    view.write_density_summaries("G", state.g_layers, step)
    view.write_density_summaries("D", state.d_layers, step)
    tf.summary.scalar("itop/G", state.g_itop.rate(), step=step)
    tf.summary.scalar("itop/D", state.d_itop.rate(), step=step)
    tf.summary.scalar("flops/normalized_training_flops", state.flops.normalized(step),
                      step=step)
    g_flops, d_flops = state.flops.totals(step)
    tf.summary.scalar("flops/training_flops_G", g_flops, step=step)
    tf.summary.scalar("flops/training_flops_D", d_flops, step=step)


def write_balance_ratio(balance_ratio, step, sample):
    """Every BR measurement: the windowed estimate, its terms and the raw sample."""
    g_post, g_pre, real = (float(v) for v in sample)
    tf.summary.scalar("balance_ratio/br", balance_ratio.value(), step=step)
    tf.summary.scalar("balance_ratio/alpha_mean", balance_ratio.alpha_mean(), step=step)
    tf.summary.scalar("balance_ratio/beta_mean", balance_ratio.beta_mean(), step=step)
    tf.summary.scalar("balance_ratio/sample_g_post", g_post, step=step)
    tf.summary.scalar("balance_ratio/sample_g_pre", g_pre, step=step)
    tf.summary.scalar("balance_ratio/sample_real", real, step=step)


def write_mask_event(network, step, layers, itop_rate, turnover=None):
    """After a mask change of ``network`` ('G' or 'D'): turnover, ITOP, densities."""
    if turnover is not None:
        turnover = np.asarray(turnover)
        for layer, value in zip(layers, turnover):
            tf.summary.scalar(f"{network}_turnover/{layer.name}", value, step=step)
        tf.summary.scalar(f"{network}/turnover", float(np.mean(turnover)), step=step)
    tf.summary.scalar(f"itop/{network}", itop_rate, step=step)
    view.write_density_summaries(network, layers, step)


def write_density_decision(step, result):
    """After a D density decision: the decision code and d_D."""
    tf.summary.scalar("D_controller/decision", int(result["decision"]), step=step)
    tf.summary.scalar("D_controller/density", result["density"], step=step)


def write_hparams(hparams, trial_id):
    """The run's settings of note, for TensorBoard's hparams dashboard."""
    hparams_api.hparams(hparams, trial_id=trial_id)
