"""The balance ratio (BR) of a GAN: a windowed estimate of how far one G step closes D's gap.

BR = (D(G_post(z)) - D(G_pre(z))) / (D(x_real) - D(G_pre(z))) = alpha / beta, every term a
minibatch mean of logits from D *after* its update, G before/after its update on the same z
(spec Sec. 2). As in the official code, :class:`BalanceRatio` keeps the last
``da_iters // br_freq`` samples and reports the mean of the per-sample ratios (not the ratio
of the means). BR near 0: D too strong; BR above 1: D too weak.
"""

import gin
import tensorflow as tf

from ddst_tf import validation

DEFAULT_MIN_DENOMINATOR = 1e-6


def balance_ratio_sample(g_post_logits, g_pre_logits, real_logits):
    """(mean D(G_post(z)), mean D(G_pre(z)), mean D(x_real)): one BR sample from logits [B, 1].

    Under ``tf.distribute`` all-reduce (average) these means before :meth:`BalanceRatio.record`.
    """
    return tuple(tf.reduce_mean(tf.cast(logits, tf.float32))
                 for logits in (g_post_logits, g_pre_logits, real_logits))


def check_br_config(br_freq, update_every, measured=True):
    """The official ``main.py`` rules for a BR-driven density controller, checked at start-up.

    BR must be measured (``measured``), and ``br_freq <= update_every // 10``, ``update_every``
    being D's density-update period ΔT_D in iterations: at least ten BR samples between two
    density decisions.
    """
    if not measured:
        raise validation.InvalidValueError(
            "the density controller decides from the balance ratio, but "
            "GANTrainer.measure_balance_ratio = False; set it to True")
    br_freq = validation.positive_int("BalanceRatio.br_freq", br_freq)
    update_every = validation.positive_int("DensityController.update_every", update_every)
    if br_freq > update_every // 10:
        raise validation.InvalidValueError(
            f"BalanceRatio.br_freq={br_freq} is too large for DensityController.update_every="
            f"{update_every}: br_freq must be <= update_every // 10 = {update_every // 10} "
            f"(at least ten BR samples per density decision)")


@gin.configurable
class BalanceRatio(tf.Module):
    """Ring buffer of the last ``da_iters // br_freq`` BR samples, all state in variables.

    Each sample is the triple (g_post, g_pre, real) of global minibatch means; its ratio is
    alpha / beta = (g_post - g_pre) / (real - g_pre).

    Tiny denominators: a sample with |beta| < ``min_denominator`` says nothing about the
    ratio (D scores real and fake alike), so it is *skipped*: :meth:`value` averages the
    ratios of the valid samples in the window only (the official code lets such a sample
    turn the whole window into inf/NaN). With no valid sample in the window :meth:`value`
    is NaN, which the density controller treats as "no information, no decision".
    """

    def __init__(self, da_iters=1000, br_freq=10, min_denominator=DEFAULT_MIN_DENOMINATOR,
                 name="balance_ratio"):
        super().__init__(name=name)
        self.da_iters = validation.positive_int("BalanceRatio.da_iters", da_iters)
        self.br_freq = validation.positive_int("BalanceRatio.br_freq", br_freq)
        if self.br_freq > self.da_iters:
            raise validation.InvalidValueError(
                f"br_freq={br_freq} must be <= da_iters={da_iters} (the window "
                f"da_iters // br_freq must hold at least one sample)")
        self.min_denominator = validation.positive_real("BalanceRatio.min_denominator",
                                                        min_denominator)
        self.window_size = self.da_iters // self.br_freq
        with self.name_scope:
            only_first = tf.VariableAggregation.ONLY_FIRST_REPLICA
            self.samples = tf.Variable(
                tf.zeros([self.window_size, 3], tf.float64), trainable=False,
                aggregation=only_first, name="samples")
            self.count = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                     aggregation=only_first, name="count")

    @property
    def position(self):
        """Row of :attr:`samples` the next :meth:`record` writes (``count % window_size``)."""
        return self.count % self.window_size

    def record(self, g_post, g_pre, real):
        """Store one sample (global scalar means); once the window is full, overwrite the oldest."""
        triple = tf.cast(tf.stack([g_post, g_pre, real]), tf.float64)
        updated = tf.tensor_scatter_nd_update(
            tf.convert_to_tensor(self.samples), [[self.position]], triple[None])
        self.samples.assign(updated)
        self.count.assign_add(1)

    def num_filled(self):
        """Number of samples in the window (int64), at most ``window_size``."""
        return tf.minimum(tf.convert_to_tensor(self.count), self.window_size)

    def is_full(self):
        """True once ``window_size`` samples were recorded (the controller waits for this)."""
        return self.count >= self.window_size

    def num_valid(self):
        """Samples in the window whose denominator is usable (|beta| >= min_denominator)."""
        return tf.reduce_sum(tf.cast(self._valid(), tf.int64))

    def value(self):
        """Window mean of the per-sample ratios alpha / beta (float64; NaN if none is valid)."""
        alpha, beta = self._alpha_beta()
        valid = self._valid()
        safe_beta = tf.where(valid, beta, tf.ones_like(beta))
        ratios = tf.where(valid, alpha / safe_beta, tf.zeros_like(alpha))
        return tf.reduce_sum(ratios) / tf.cast(tf.reduce_sum(tf.cast(valid, tf.int64)),
                                               tf.float64)

    def alpha_mean(self):
        """Window mean of alpha = g_post - g_pre (how far one G step moves D's fake logit).

        Over all samples in the window (valid or not); NaN before the first record.
        """
        return self._window_mean(self._alpha_beta()[0])

    def beta_mean(self):
        """Window mean of beta = real - g_pre (the official code's ``dis_capacity``); as alpha."""
        return self._window_mean(self._alpha_beta()[1])

    def _alpha_beta(self):
        samples = tf.convert_to_tensor(self.samples)
        g_post, g_pre, real = samples[:, 0], samples[:, 1], samples[:, 2]
        return g_post - g_pre, real - g_pre

    def _filled(self):
        return tf.range(self.window_size, dtype=tf.int64) < self.num_filled()

    def _valid(self):
        beta = self._alpha_beta()[1]
        return tf.logical_and(self._filled(), tf.abs(beta) >= self.min_denominator)

    def _window_mean(self, values):
        filled = self._filled()
        total = tf.reduce_sum(tf.where(filled, values, tf.zeros_like(values)))
        return total / tf.cast(self.num_filled(), tf.float64)

