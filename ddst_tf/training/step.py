"""GANStep: one compiled training iteration, in the spec's order, under a tf.distribute strategy.

    step = GANStep(state, strategy, ...)
    outputs = step(iterator, IterationPlan(measure_br=True, update_g_masks=False))

One iteration: ``n_critic`` D steps (each a real batch and fresh fakes), one G step, then what
the plan asks for: the BR sample on the G step's latents (D after its update, G before and
after), G's prune-and-regrow with a fresh-batch growth gradient, D's growth gradients for the
host's density decision; finally the sparse EMA update and the iteration counter. Each plan
is its own trace (at most eight). Every mask decision inside uses all-reduced values, so all
replicas agree.
"""

from typing import NamedTuple

import tensorflow as tf

from ddst_tf import validation
from ddst_tf.balance.balance_ratio import balance_ratio_sample
from ddst_tf.layers.masked import effective_kernel_gradients, watch_masks
from ddst_tf.training.ema import SparseEMA

OPTIMIZER_GRADIENTS = ("dense", "masked")


class IterationPlan(NamedTuple):
    """What an iteration does besides the D and G steps (each field a Python bool)."""

    measure_br: bool = False  # record a balance-ratio sample
    update_g_masks: bool = False  # G prune-and-regrow
    check_d_density: bool = False  # D growth gradients for the density decision

    @classmethod
    def for_iteration(cls, iteration, br_freq, g_dst, d_controller):
        """The plan of ``iteration`` (1-based) from BR's frequency (None: no BR) and the
        G and D schedules (None: that part is off)."""
        return cls(
            measure_br=br_freq is not None and iteration % br_freq == 0,
            update_g_masks=g_dst is not None and g_dst.should_update(iteration),
            check_d_density=d_controller is not None
            and d_controller.is_check_iteration(iteration))


class GANStep:
    """The compiled iteration of one run; see the module docstring for what it does.

    ``losses``: (generator loss fn, discriminator loss fn) of per-example logits;
    ``g_dst``: G's ``DynamicSparsity`` or None; ``optimizer_gradients``: ``dense`` feeds Adam
    the gradient w.r.t. each effective kernel (the official code; pruned weights keep
    moments and the kernel constraint re-zeroes them), ``masked`` d loss / d kernel.
    """

    def __init__(self, state, strategy, latents, losses, *, gen_batch_size, disc_batch_size,
                 n_critic, ema_decay, g_dst=None, seed=0, optimizer_gradients="dense",
                 jit_compile=False):
        self.state = state
        self.strategy = strategy
        self.latents = latents
        self.g_loss_fn, self.d_loss_fn = losses
        self.gen_batch_size = gen_batch_size
        self.disc_batch_size = disc_batch_size
        self.n_critic = n_critic
        self.g_dst = g_dst
        self.seed = seed
        self.optimizer_gradients = validation.one_of(
            "GANTrainer.optimizer_gradients", optimizer_gradients, OPTIMIZER_GRADIENTS)
        self.ema = SparseEMA(state.G, state.G_ema, ema_decay)
        self._g_sources = self._gradient_sources(state.G, state.g_layers)
        self._d_sources = self._gradient_sources(state.D, state.d_layers)
        self._compiled = tf.function(self._iteration, jit_compile=jit_compile)

    def __call__(self, iterator, plan=IterationPlan()):
        """Run one iteration; returns {d_loss, g_loss[, br_sample, g_turnover, d_gradients]}."""
        return self._compiled(iterator, *plan)

    def concrete_function(self, iterator, plan=IterationPlan()):
        """The traced graph of ``plan`` (to inspect its ops)."""
        return self._compiled.get_concrete_function(iterator, *plan)

    # ------------------------------------------------------------- the models

    def _generate(self, z, y, training):
        return self.state.G([z, y] if self.state.num_classes else z, training=training)

    def _discriminate(self, x, y, training):
        return self.state.D([x, y] if self.state.num_classes else x, training=training)

    def _gradient_sources(self, model, layers):
        """What to differentiate for each trainable variable of ``model``.

        ``dense``: a masked kernel's gradient is the dense gradient w.r.t. its effective
        kernel, carried by the mask (see ``layers.masked``); ``masked``: d loss / d kernel.
        """
        if self.optimizer_gradients == "masked":
            return list(model.trainable_variables)
        mask_of = {id(layer.kernel_variable): layer.mask for layer in layers}
        return [mask_of.get(id(v), v) for v in model.trainable_variables]

    @staticmethod
    def _gradients(tape, loss, sources):
        return tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def _d_loss(self, real, labels, fake_z, fake_y):
        fake = self._generate(fake_z, fake_y, training=True)
        real_y = tf.cast(labels, tf.int32) if self.state.num_classes else None
        real_logits = self._discriminate(real, real_y, training=True)
        fake_logits = self._discriminate(fake, fake_y, training=True)
        return tf.nn.compute_average_loss(self.d_loss_fn(real_logits, fake_logits),
                                          global_batch_size=self.disc_batch_size)

    def g_forward(self, z, y):
        """(G loss averaged over the global batch, D's logits of G(z)) on this replica."""
        fake_logits = self._discriminate(self._generate(z, y, training=True), y, training=True)
        loss = tf.nn.compute_average_loss(self.g_loss_fn(fake_logits),
                                          global_batch_size=self.gen_batch_size)
        return loss, fake_logits

    # ---------------------------------------------------------- replica steps

    def _d_step(self, real, labels, draw):
        z, y = self.latents(self.disc_batch_size, draw)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([v.value for v in self._d_sources])
            loss = self._d_loss(real, labels, z, y)
        grads = self._gradients(tape, loss, self._d_sources)
        self.state.d_optimizer.apply_gradients(zip(grads, self.state.D.trainable_variables))
        return loss

    def _g_step(self, real, labels, measure_br):
        """One G step; with ``measure_br`` also the three BR terms on the same z."""
        z, y = self.latents(self.gen_batch_size, self.n_critic)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([v.value for v in self._g_sources])
            loss, fake_logits = self.g_forward(z, y)
        grads = self._gradients(tape, loss, self._g_sources)
        self.state.g_optimizer.apply_gradients(zip(grads, self.state.G.trainable_variables))
        if not measure_br:
            return loss, ()
        post_logits = self._discriminate(self._generate(z, y, training=True), y,
                                          training=False)
        real_y = tf.cast(labels, tf.int32) if self.state.num_classes else None
        real_logits = self._discriminate(real, real_y, training=False)
        return loss, balance_ratio_sample(post_logits, fake_logits, real_logits)

    def g_growth_gradients(self):
        """Effective-kernel gradients of the G loss on a fresh latent batch."""
        z, y = self.latents(self.gen_batch_size, self.n_critic + 1)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            watch_masks(tape, self.state.g_layers)
            loss, _ = self.g_forward(z, y)
        return effective_kernel_gradients(tape, loss, self.state.g_layers)

    def d_growth_gradients(self, real, labels):
        """Effective-kernel gradients of the D loss on the last real batch, fresh fakes."""
        z, y = self.latents(self.disc_batch_size, self.n_critic + 2)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            watch_masks(tape, self.state.d_layers)
            loss = self._d_loss(real, labels, z, y)
        return effective_kernel_gradients(tape, loss, self.state.d_layers)

    def _sum(self, per_replica):
        """All-reduced SUM of each value in a (nested) structure from ``strategy.run``.

        Reduced one tensor at a time: with one local replica (multi-worker) run returns
        plain tensors, and ``strategy.reduce`` would pack a list of them into one.
        """
        return tf.nest.map_structure(
            lambda value: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None),
            per_replica)

    # -------------------------------------------------------------- iteration

    def _iteration(self, iterator, measure_br, update_g_masks, check_d_density):
        state, run = self.state, self.strategy.run
        for draw in range(self.n_critic):
            real, labels = next(iterator)
            d_loss = self._sum(run(self._d_step, (real, labels, draw)))
        g_loss, br_terms = run(self._g_step, (real, labels, measure_br))
        out = {"d_loss": d_loss, "g_loss": self._sum(g_loss)}
        if measure_br:
            g_post, g_pre, real_mean = (self.strategy.reduce(tf.distribute.ReduceOp.MEAN, t,
                                                              axis=None) for t in br_terms)
            state.balance_ratio.record(g_post, g_pre, real_mean)
            out["br_sample"] = tf.stack([g_post, g_pre, real_mean])
        if update_g_masks:
            grads = (self._sum(run(self.g_growth_gradients))
                     if self.g_dst.needs_gradients else None)
            stats = self.g_dst.update(state.g_layers, grads, state.g_optimizer,
                                      step=state.g_optimizer.iterations, seed=self.seed,
                                      network_id=0)
            out["g_turnover"] = tf.stack(stats.turnover)
        if check_d_density:
            out["d_gradients"] = self._sum(run(self.d_growth_gradients, (real, labels)))
        self.ema.update()
        state.iteration.assign_add(1)
        return out
