"""TensorBoard summaries of a training run, each scalar with a description; a default summary
writer must be active. Each function receives the values it writes, never the trainer."""

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from ddst_tf.balance.density_controller import Decision
from ddst_tf.sparse import view

# Descriptions of the scalars, by tag or by tag prefix (ending in '/').
DESCRIPTIONS = {
    "losses/d_loss": "D loss of the iteration's last D step (global-batch mean).",
    "losses/g_loss": "G loss of the iteration's G step (global-batch mean).",
    "G/density": "Fraction of G's maskable weights that are non-zero.",
    "D/density": "Fraction of D's maskable weights that are non-zero (the controller moves it).",
    "G_layers/": "Density of one G layer.",
    "D_layers/": "Density of one D layer.",
    "itop/G": "ITOP rate: fraction of G's maskable weights that were ever active.",
    "itop/D": "ITOP rate: fraction of D's maskable weights that were ever active.",
    "G/turnover": "Mean over G's layers of the fraction of mask entries changed by the last "
                  "prune-and-regrow.",
    "G_turnover/": "Fraction of this layer's mask entries changed by the last prune-and-regrow.",
    "flops/normalized_training_flops": "Training FLOPs so far over dense training FLOPs of the "
                                       "same iterations (paper convention).",
    "flops/training_flops_G": "G's training FLOPs so far (paper convention).",
    "flops/training_flops_D": "D's training FLOPs so far (paper convention, n_critic twice).",
    "balance_ratio/br": "Balance ratio: mean over the window of (D(G_post z) - D(G_pre z)) / "
                        "(D(x) - D(G_pre z)). Until balance_ratio/window_fill reaches 1 it "
                        "covers fewer samples than the controller waits for.",
    "balance_ratio/window_fill": "Samples in the BR window over its size; the density "
                                 "controller decides only at 1.",
    "balance_ratio/alpha_mean": "Window mean of alpha = D(G_post z) - D(G_pre z).",
    "balance_ratio/beta_mean": "Window mean of beta = D(x) - D(G_pre z) (D's capacity).",
    "balance_ratio/sample_g_post": "This sample's mean D(G_post z).",
    "balance_ratio/sample_g_pre": "This sample's mean D(G_pre z).",
    "balance_ratio/sample_real": "This sample's mean D(x) on the last real batch.",
    "D_controller/decision": "Code of the density decision: " + ", ".join(
        f"{decision.value} {decision.name}" for decision in Decision) + " (the name is in "
        "the text summary D_controller/decision_name).",
    "D_controller/density": "D's target density after the decision.",
    "eval/": "Evaluation metric of the EMA generator (see eval/metrics.csv for how it was "
             "measured).",
    "nan_guard/skips": "NaN/Inf events rolled back so far (nan_policy='skip').",
}


def description(tag):
    """The description of ``tag`` (exact, else its longest matching prefix), or ''."""
    if tag in DESCRIPTIONS:
        return DESCRIPTIONS[tag]
    prefixes = [key for key in DESCRIPTIONS if key.endswith("/") and tag.startswith(key)]
    return DESCRIPTIONS[max(prefixes, key=len)] if prefixes else ""


def scalar(tag, value, step):
    """A scalar summary with its description."""
    tf.summary.scalar(tag, value, step=step, description=description(tag))


def write_densities(network, layers, step):
    """Global density, per-layer densities and their histogram of ``network`` ('G' or 'D')."""
    sizes = view.layer_sizes(layers)
    nnz = view.layer_nnz(layers)
    scalar(f"{network}/density", tf.cast(tf.add_n(nnz), tf.float64) / sum(sizes), step)
    densities = [tf.cast(n, tf.float64) / size for n, size in zip(nnz, sizes)]
    for layer, density in zip(layers, densities):
        scalar(f"{network}_layers/{layer.name}", density, step)
    tf.summary.histogram(f"{network}/layer_densities", tf.stack(densities), step=step,
                         description=f"Per-layer densities of {network}.")


def write_periodic(step, losses, state):
    """Every ``summary_every``: losses, densities per layer, ITOP, training FLOPs."""
    for name, value in losses.items():
        scalar(f"losses/{name}", value, step)
    write_densities("G", state.g_layers, step)
    write_densities("D", state.d_layers, step)
    scalar("itop/G", state.g_itop.rate(), step)
    scalar("itop/D", state.d_itop.rate(), step)
    scalar("flops/normalized_training_flops", state.flops.normalized(step), step)
    g_flops, d_flops = state.flops.totals(step)
    scalar("flops/training_flops_G", g_flops, step)
    scalar("flops/training_flops_D", d_flops, step)


def write_balance_ratio(balance_ratio, step, sample):
    """Every BR measurement: the windowed estimate, how full its window is, its terms and the
    raw sample."""
    g_post, g_pre, real = (float(v) for v in sample)
    scalar("balance_ratio/br", balance_ratio.value(), step)
    scalar("balance_ratio/window_fill",
           float(balance_ratio.num_filled()) / balance_ratio.window_size, step)
    scalar("balance_ratio/alpha_mean", balance_ratio.alpha_mean(), step)
    scalar("balance_ratio/beta_mean", balance_ratio.beta_mean(), step)
    scalar("balance_ratio/sample_g_post", g_post, step)
    scalar("balance_ratio/sample_g_pre", g_pre, step)
    scalar("balance_ratio/sample_real", real, step)


def write_mask_event(network, step, layers, itop_rate, turnover=None):
    """After a mask change of ``network`` ('G' or 'D'): turnover, ITOP, densities."""
    if turnover is not None:
        turnover = np.asarray(turnover)
        for layer, value in zip(layers, turnover):
            scalar(f"{network}_turnover/{layer.name}", value, step)
        scalar(f"{network}/turnover", float(np.mean(turnover)), step)
    scalar(f"itop/{network}", itop_rate, step)
    write_densities(network, layers, step)


def write_density_decision(step, result):
    """After a D density decision: its code and name, and d_D."""
    decision = Decision(result["decision"])
    scalar("D_controller/decision", int(decision), step)
    tf.summary.text("D_controller/decision_name", decision.name, step=step,
                    description="Name of the density decision.")
    scalar("D_controller/density", result["density"], step)


def write_hparams(hparams, trial_id):
    """The run's settings of note, for TensorBoard's hparams dashboard."""
    hparams_api.hparams(hparams, trial_id=trial_id)
