"""TensorBoard summaries of a training run; the trainer's default writer must be active."""

import os

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from ddst_tf.sparse import view


def write_periodic(trainer, step, losses):
    """Every ``summary_every``: losses, densities per layer, ITOP, training FLOPs."""
    for name, value in losses.items():
        tf.summary.scalar(f"losses/{name}", value, step=step)
    view.write_density_summaries("G", trainer.g_layers, step)
    view.write_density_summaries("D", trainer.d_layers, step)
    tf.summary.scalar("itop/G", trainer.g_itop.rate(), step=step)
    tf.summary.scalar("itop/D", trainer.d_itop.rate(), step=step)
    tf.summary.scalar("flops/normalized_training_flops", trainer.flops.normalized(step),
                      step=step)
    g_flops, d_flops = trainer.flops.totals(step)
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


def write_g_mask_event(trainer, step, turnover):
    """After a G prune-and-regrow: per-layer and mean turnover, ITOP, densities."""
    turnover = turnover.numpy()
    for layer, value in zip(trainer.g_layers, turnover):
        tf.summary.scalar(f"G_turnover/{layer.name}", value, step=step)
    tf.summary.scalar("G/turnover", float(np.mean(turnover)), step=step)
    tf.summary.scalar("itop/G", trainer.g_itop.rate(), step=step)
    view.write_density_summaries("G", trainer.g_layers, step)


def write_density_decision(trainer, step, result):
    """After a D density decision: the decision code, d_D, ITOP, densities."""
    tf.summary.scalar("D_controller/decision", int(result["decision"]), step=step)
    tf.summary.scalar("D_controller/density", result["density"], step=step)
    tf.summary.scalar("itop/D", trainer.d_itop.rate(), step=step)
    view.write_density_summaries("D", trainer.d_layers, step)


def hparams(trainer):
    """The run's settings of note, for TensorBoard's hparams dashboard."""
    return {
        "model": trainer.model_name, "d_G": trainer.g_density,
        "d_D_initial": trainer.d_density, "sparse_init": trainer.sparse_init,
        "n_critic": trainer.n_critic, "gen_batch_size": trainer.gen_batch_size,
        "disc_batch_size": trainer.disc_batch_size, "num_iterations": trainer.num_iterations,
        "seed": trainer.seed,
        "g_dst": trainer.g_dst.grow_score_name if trainer.g_dst else "static",
        "d_control": trainer.d_controller.mode if trainer.d_controller else "static",
        "optimizer_gradients": trainer.optimizer_gradients,
    }


def write_hparams(trainer):
    hparams_api.hparams(hparams(trainer),
                        trial_id=os.path.basename(os.path.normpath(trainer.model_dir)))
