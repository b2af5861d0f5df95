"""The GAN training loop: n_critic D steps then one G step per iteration, under a strategy.

Everything (models, optimizers, counters, random generator) is created inside
the strategy's scope, so moving from one device to Mirrored or MultiWorker is a
configuration change. State that must survive a restart lives in variables
tracked by the checkpoint: weights, masks, both optimizers (their ``iterations``
are each network's own step counter), the iteration counter and the NaN-skip
counter; the data position and the latent draws follow from them. Initial
weights come from ``seed``, so a run killed and resumed ends exactly like an
uninterrupted one (given deterministic ops, see ``ddst-train --deterministic``).

Non-finite losses, BR samples or state stop the run or roll it back to the last
good checkpoint (``nan_policy``, see ``nan_guard``); no checkpoint ever holds
non-finite state.

Under a strategy every mask decision is made from replicated state (mirrored
weights, all-reduced gradients and BR terms, stateless seeds) in cross-replica
context, so masks agree on all replicas; only the chief writes files.
"""

import glob
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ddst_tf.balance.balance_ratio import BalanceRatio, balance_ratio_sample
from ddst_tf.balance.density_controller import Decision
from ddst_tf.data import datasets
from ddst_tf.flops.accountant import FlopsAccountant
from ddst_tf.flops.counting import layer_flops
from ddst_tf.layers.masked import effective_kernel_gradients, watch_masks
from ddst_tf.models import registry
from ddst_tf.sparse import view
from ddst_tf.sparse.dynamic import ActivationTracker
from ddst_tf.sparse.initialization import SparseInit
from ddst_tf.training import atomic_write, losses, nan_guard, strategies, summaries
from ddst_tf.training.checkpointing import TrainingCheckpoint
from ddst_tf.training.ema import SparseEMA
from ddst_tf.training.invariants import check_invariants
from ddst_tf.training.model_info import write_model_info
from ddst_tf.training.samples import image_grid, save_png


# Latent draws per iteration are numbered 0..n_critic+2 inside this stride.
_DRAWS_PER_ITERATION = 1024
# Each NaN skip moves the latent seed by this much, so a rolled-back run draws new latents.
_NAN_SKIP_SEED_STRIDE = 2 ** 32
SAMPLE_PATTERN = "iter_*.png"


def _check_density(name, value):
    if not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1]; got {value!r}")
    return float(value)


@gin.configurable
class GANTrainer:
    """Trains a sparse (or dense) GAN; see README "Training" for the options."""

    def __init__(self,
                 model_dir,
                 model=gin.REQUIRED,
                 dataset=gin.REQUIRED,
                 num_iterations=gin.REQUIRED,
                 densities=(1.0, 1.0),
                 sparse_init="erk",
                 g_dst=None,
                 d_controller=None,
                 balance_ratio=None,
                 optimizer_gradients="dense",
                 evaluator=None,
                 gen_batch_size=128,
                 disc_batch_size=64,
                 n_critic=5,
                 loss="hinge",
                 g_learning_rate=2e-4,
                 d_learning_rate=2e-4,
                 beta_1=0.0,
                 beta_2=0.9,
                 ema_decay=0.999,
                 seed=0,
                 log_every=100,
                 summary_every=100,
                 sample_every=1000,
                 checkpoint_every=1000,
                 keep_checkpoints=3,
                 keep_samples=20,
                 num_samples=64,
                 nan_policy="stop",
                 max_nan_skips=3,
                 check_invariants_every=0,
                 jit_compile=False,
                 strategy=None):
        if not 1 <= n_critic < _DRAWS_PER_ITERATION - 2:
            raise ValueError(f"n_critic must be >= 1 (and < {_DRAWS_PER_ITERATION - 2}); got "
                             f"{n_critic!r}")
        if num_iterations < 1:
            raise ValueError(f"num_iterations must be >= 1; got {num_iterations!r}")
        for name, value in [("gen_batch_size", gen_batch_size),
                            ("disc_batch_size", disc_batch_size),
                            ("log_every", log_every), ("summary_every", summary_every),
                            ("sample_every", sample_every),
                            ("checkpoint_every", checkpoint_every),
                            ("keep_samples", keep_samples)]:
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if int(check_invariants_every) < 0:
            raise ValueError(f"check_invariants_every must be >= 0 (0 = off); got "
                             f"{check_invariants_every!r}")
        self.nan_policy, self.max_nan_skips = nan_guard.check_policy(nan_policy, max_nan_skips)
        if len(densities) != 2:
            raise ValueError(f"densities must be (d_G, d_D); got {densities!r}")
        if optimizer_gradients not in ("dense", "masked"):
            raise ValueError(f"optimizer_gradients must be 'dense' or 'masked'; got "
                             f"{optimizer_gradients!r}")
        self.model_dir = model_dir
        self.optimizer_gradients = optimizer_gradients
        self.g_dst = g_dst
        self.d_controller = d_controller
        self.evaluator = evaluator
        self.num_iterations = int(num_iterations)
        self.g_density = _check_density("densities[0] (d_G)", densities[0])
        self.d_density = _check_density("densities[1] (d_D)", densities[1])
        self.sparse_init = sparse_init
        self.gen_batch_size = int(gen_batch_size)
        self.disc_batch_size = int(disc_batch_size)
        self.n_critic = int(n_critic)
        self.g_loss_fn, self.d_loss_fn = losses.gan_loss(loss)
        self.seed = int(seed)
        self.log_every, self.summary_every = int(log_every), int(summary_every)
        self.sample_every, self.checkpoint_every = int(sample_every), int(checkpoint_every)
        self.keep_samples = int(keep_samples)
        self.check_invariants_every = int(check_invariants_every)
        self.num_samples = int(num_samples)
        self.jit_compile = bool(jit_compile)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.is_chief = strategies.is_chief(self.strategy)
        replicas = self.strategy.num_replicas_in_sync
        for name, value in [("gen_batch_size", self.gen_batch_size),
                            ("disc_batch_size", self.disc_batch_size)]:
            if value % replicas:
                raise ValueError(f"{name}={value} is not divisible by the {replicas} "
                                 f"replicas of the distribution strategy")

        self.model_name = model
        self.data = datasets.load(dataset)
        keras.utils.set_random_seed(self.seed)
        with self.strategy.scope():
            self.G, self.D = registry.build_gan(
                model, image_shape=self.data.image_shape, num_classes=self.data.num_classes
                if registry.is_conditional(model) else 0)
            self.G_ema, _ = registry.build_gan(
                model, image_shape=self.data.image_shape, num_classes=self.data.num_classes
                if registry.is_conditional(model) else 0, generator_only=True)
            self.num_classes = getattr(self.G, "num_classes", 0)
            self.latent_dim = self.G.latent_dim
            self.g_optimizer = keras.optimizers.Adam(
                g_learning_rate, beta_1=beta_1, beta_2=beta_2, name="g_adam")
            self.d_optimizer = keras.optimizers.Adam(
                d_learning_rate, beta_1=beta_1, beta_2=beta_2, name="d_adam")
            self.g_optimizer.build(self.G.trainable_variables)
            self.d_optimizer.build(self.D.trainable_variables)
            self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration",
                                         trainable=False)
            self.nan_skips = tf.Variable(0, dtype=tf.int64, name="nan_skips", trainable=False)
            self.g_layers = view.masked_layers(self.G)
            self.d_layers = view.masked_layers(self.D)
            self.g_itop = ActivationTracker(self.g_layers, name="g_itop")
            self.d_itop = ActivationTracker(self.d_layers, name="d_itop")
            self.balance_ratio = balance_ratio or BalanceRatio()
            self.flops = FlopsAccountant(layer_flops(self.G), layer_flops(self.D),
                                         self.gen_batch_size, self.disc_batch_size,
                                         self.n_critic)
        self._g_sources = self._gradient_sources(self.G, self.g_layers)
        self._d_sources = self._gradient_sources(self.D, self.d_layers)
        self.ema = SparseEMA(self.G, self.G_ema, ema_decay)
        self.iterator = None
        self._tick = (time.perf_counter(), 0)
        self.checkpoint = TrainingCheckpoint(
            os.path.join(model_dir, "checkpoints"), max_to_keep=keep_checkpoints,
            strategy=self.strategy,
            G=self.G, D=self.D, G_ema=self.G_ema, g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer, iteration=self.iteration, nan_skips=self.nan_skips,
            g_itop=self.g_itop, d_itop=self.d_itop, balance_ratio=self.balance_ratio,
            flops=self.flops,
            **({"d_controller": d_controller} if d_controller is not None else {}))
        self._sample_z = tf.random.stateless_normal(
            (self.num_samples, self.latent_dim), seed=(self.seed, 7))
        self._sample_y = tf.constant(
            np.arange(self.num_samples) % max(self.num_classes, 1), tf.int32)
        self._iteration_fn = tf.function(self._iteration, jit_compile=self.jit_compile)

    # ----------------------------------------------------------------- set-up

    def initialize_sparsity(self):
        """Draw the initial masks of G and D (fresh runs only) and sync the EMA copy."""
        g_init = SparseInit(method=self.sparse_init, density=self.g_density)
        d_init = SparseInit(method=self.sparse_init, density=self.d_density)
        g_init.apply(self.g_layers, seed=self.seed * 2 + 0)
        d_init.apply(self.d_layers, seed=self.seed * 2 + 1)
        self.ema.reset()
        self.g_itop.reset()
        self.d_itop.reset()
        self.flops.reset(0, view.layer_densities(self.g_layers),
                         view.layer_densities(self.d_layers))

    def make_iterator(self):
        """The distributed input, positioned after the D batches already trained on.

        The pipeline's order is a pure function of (data, seed, layout), so resuming
        at ``iteration * n_critic`` batches replays exactly the uninterrupted stream.
        """
        start = int(self.iteration.numpy()) * self.n_critic
        dataset = self.strategy.distribute_datasets_from_function(
            lambda ctx: self.data.train_dataset(self.disc_batch_size, seed=self.seed,
                                                input_context=ctx, start_step=start))
        return iter(dataset)

    def restore_or_initialize(self):
        """Resume from model_dir's latest checkpoint, or start a fresh run.

        A fresh run under ``nan_policy='skip'`` saves its initial state (ckpt-0), the
        state a NaN before the first periodic checkpoint rolls back to.
        """
        path = self.checkpoint.restore_latest()
        self.iterator = self.make_iterator()
        if path is None:
            self.initialize_sparsity()
            logging.info("Fresh run in %s: d_G=%.4f d_D=%.4f", self.model_dir,
                         float(view.global_density(self.g_layers)),
                         float(view.global_density(self.d_layers)))
            if self.nan_policy == "skip":
                self.save_checkpoint()
        else:
            logging.info("Resumed from %s at iteration %d", path, int(self.iteration.numpy()))
        return path

    # ------------------------------------------------------------ train steps

    def _generate(self, z, y, training):
        return self.G([z, y] if self.num_classes else z, training=training)

    def _discriminate(self, x, y, training):
        return self.D([x, y] if self.num_classes else x, training=training)

    def _latents(self, global_batch, draw):
        """This replica's slice of the iteration's ``draw``-th global latent batch.

        Latents (and fake labels) are a stateless function of (seed, iteration,
        draw), drawn for the whole global batch and sliced by replica id: the
        concatenation over replicas equals the single-device draw, and a resumed
        run replays exactly the same numbers. Each NaN skip shifts the seed.
        """
        replicas = self.strategy.num_replicas_in_sync
        batch = global_batch // replicas
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed = tf.stack([tf.constant(self.seed, tf.int64)
                         + tf.cast(self.nan_skips, tf.int64) * _NAN_SKIP_SEED_STRIDE,
                         tf.cast(self.iteration, tf.int64) * _DRAWS_PER_ITERATION + draw])
        start = tf.cast(replica, tf.int32) * batch
        z = tf.random.stateless_normal([global_batch, self.latent_dim], seed=seed)
        z = tf.slice(z, [start, 0], [batch, self.latent_dim])
        if not self.num_classes:
            return z, None
        labels = tf.random.stateless_uniform([global_batch], seed=seed + [0, 1], minval=0,
                                             maxval=self.num_classes, dtype=tf.int32)
        return z, tf.slice(labels, [start], [batch])

    def _gradient_sources(self, model, layers):
        """What to differentiate for each trainable variable of ``model``.

        ``dense`` (the official code): a masked kernel's gradient is the dense
        gradient w.r.t. its effective kernel (carried by the mask, see
        ``layers.masked``), so Adam keeps moments for pruned weights, which the
        kernel constraint re-zeroes after each step; ``masked``: d loss / d kernel.
        """
        if self.optimizer_gradients == "masked":
            return list(model.trainable_variables)
        mask_of = {id(layer.kernel_variable): layer.mask for layer in layers}
        return [mask_of.get(id(v), v) for v in model.trainable_variables]

    def _gradients(self, tape, loss, sources):
        return tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def _d_loss(self, real, labels, fake_z, fake_y):
        fake = self._generate(fake_z, fake_y, training=True)
        real_y = tf.cast(labels, tf.int32) if self.num_classes else None
        real_logits = self._discriminate(real, real_y, training=True)
        fake_logits = self._discriminate(fake, fake_y, training=True)
        return tf.nn.compute_average_loss(self.d_loss_fn(real_logits, fake_logits),
                                          global_batch_size=self.disc_batch_size)

    def _g_forward(self, z, y):
        fake_logits = self._discriminate(self._generate(z, y, training=True), y, training=True)
        loss = tf.nn.compute_average_loss(self.g_loss_fn(fake_logits),
                                          global_batch_size=self.gen_batch_size)
        return loss, fake_logits

    def _d_step(self, real, labels, draw):
        z, y = self._latents(self.disc_batch_size, draw)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([v.value for v in self._d_sources])
            loss = self._d_loss(real, labels, z, y)
        grads = self._gradients(tape, loss, self._d_sources)
        self.d_optimizer.apply_gradients(zip(grads, self.D.trainable_variables))
        return loss

    def _g_step(self, real, labels, measure_br):
        """One G step; with ``measure_br`` also the three BR terms on the same z."""
        z, y = self._latents(self.gen_batch_size, self.n_critic)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([v.value for v in self._g_sources])
            loss, fake_logits = self._g_forward(z, y)
        grads = self._gradients(tape, loss, self._g_sources)
        self.g_optimizer.apply_gradients(zip(grads, self.G.trainable_variables))
        if not measure_br:
            return loss, ()
        post_logits = self._discriminate(self._generate(z, y, training=True), y,
                                          training=False)
        real_y = tf.cast(labels, tf.int32) if self.num_classes else None
        real_logits = self._discriminate(real, real_y, training=False)
        return loss, balance_ratio_sample(post_logits, fake_logits, real_logits)

    def _g_growth_gradients(self):
        """Effective-kernel gradients of the G loss on a fresh latent batch."""
        z, y = self._latents(self.gen_batch_size, self.n_critic + 1)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            watch_masks(tape, self.g_layers)
            loss, _ = self._g_forward(z, y)
        return effective_kernel_gradients(tape, loss, self.g_layers)

    def _d_growth_gradients(self, real, labels):
        """Effective-kernel gradients of the D loss on the last real batch, fresh fakes."""
        z, y = self._latents(self.disc_batch_size, self.n_critic + 2)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            watch_masks(tape, self.d_layers)
            loss = self._d_loss(real, labels, z, y)
        return effective_kernel_gradients(tape, loss, self.d_layers)

    def _sum(self, per_replica):
        """All-reduced SUM of each value in a (nested) structure from ``strategy.run``.

        Reduced one tensor at a time: with one local replica (multi-worker) run returns
        plain tensors, and ``strategy.reduce`` would pack a list of them into one.
        """
        return tf.nest.map_structure(
            lambda value: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None),
            per_replica)

    def _iteration(self, iterator, measure_br, update_g_masks, d_gradients):
        """One iteration in the spec's order: n_critic D steps, G step, BR sample,
        G prune-and-regrow, (D growth gradients for the host's density decision), SEMA.

        The Python flags select a trace; they come from the host's schedules.
        """
        for draw in range(self.n_critic):
            real, labels = next(iterator)
            d_loss = self._sum(self.strategy.run(self._d_step, (real, labels, draw)))
        g_loss, br_terms = self.strategy.run(self._g_step, (real, labels, measure_br))
        out = {"d_loss": d_loss, "g_loss": self._sum(g_loss)}
        if measure_br:
            g_post, g_pre, real_mean = (self.strategy.reduce(tf.distribute.ReduceOp.MEAN, t,
                                                              axis=None) for t in br_terms)
            self.balance_ratio.record(g_post, g_pre, real_mean)
            out["br_sample"] = tf.stack([g_post, g_pre, real_mean])
        if update_g_masks:
            grads = (self._sum(self.strategy.run(self._g_growth_gradients))
                     if self.g_dst.needs_gradients else None)
            stats = self.g_dst.update(self.g_layers, grads, self.g_optimizer,
                                      step=self.g_optimizer.iterations, seed=self.seed,
                                      network_id=0)
            self.g_itop.update()
            out["g_turnover"] = tf.stack(stats.turnover)
        if d_gradients:
            out["d_gradients"] = self._sum(
                self.strategy.run(self._d_growth_gradients, (real, labels)))
        self.ema.update()
        self.iteration.assign_add(1)
        return out

    # ---------------------------------------------------------------- outputs

    def generate_samples(self, model=None):
        """Images from the fixed sample latents (EMA generator unless given)."""
        model = model or self.G_ema
        inputs = [self._sample_z, self._sample_y] if self.num_classes else self._sample_z
        return model(inputs, training=False).numpy()

    def write_samples(self, step):
        """The EMA sample grid as samples/iter_<step>.png and latest.png; keeps the newest
        ``keep_samples`` iteration grids."""
        grid = image_grid(self.generate_samples())
        folder = os.path.join(self.model_dir, "samples")
        save_png(os.path.join(folder, f"iter_{step:07d}.png"), grid)
        save_png(os.path.join(folder, "latest.png"), grid)
        for old in sorted(glob.glob(os.path.join(folder, SAMPLE_PATTERN)))[:-self.keep_samples]:
            os.remove(old)
        tf.summary.image("samples/ema", grid[None], step=step)

    def write_g_mask_event(self, step, turnover):
        self.flops.on_change(step, g_densities=view.layer_densities(self.g_layers))
        summaries.write_g_mask_event(self, step, turnover)

    def density_decision(self, step, d_gradients):
        """The D density controller's decision at a ΔT_D boundary (host side, eager)."""
        result = self.d_controller.step(
            step, float(self.balance_ratio.value()), bool(self.balance_ratio.is_full()),
            self.d_layers, d_gradients=d_gradients, d_optimizer=self.d_optimizer,
            seed=self.seed, d_step=int(self.d_optimizer.iterations.numpy()))
        if result["decision"] in (Decision.INCREASE, Decision.DECREASE, Decision.DST):
            self.d_itop.update()
            self.flops.on_change(step, d_densities=view.layer_densities(self.d_layers))
        summaries.write_density_decision(self, step, result)
        logging.info("iteration %d: BR %.4f -> D %s, d_D %.4f", step,
                     float(self.balance_ratio.value()), result["decision"].name,
                     result["density"])
        return result

    def write_config(self):
        """The parameters gin used (operative_config.gin) and how to rebuild G (model.json)."""
        write_model_info(self.model_dir, self.model_name, self.data.image_shape,
                         self.num_classes, self.latent_dim)
        atomic_write.write_text(os.path.join(self.model_dir, "operative_config.gin"),
                                gin.operative_config_str())

    def state_variables(self):
        """Every checkpointed floating-point variable (what the NaN guard checks before saving)."""
        variables = (self.G.weights + self.D.weights + self.G_ema.weights
                     + self.g_optimizer.variables + self.d_optimizer.variables
                     + list(self.balance_ratio.variables) + list(self.flops.variables))
        if self.d_controller is not None:
            variables += list(self.d_controller.variables)
        return variables

    def save_checkpoint(self):
        """Save the training state (every worker calls this; only the chief keeps it).

        Raises ``NonFiniteError`` instead of saving state that holds a NaN or Inf.
        """
        step = int(self.iteration.numpy())
        nan_guard.check_variables(step, self.state_variables())
        return self.checkpoint.save(step)

    def _summary_writer(self):
        if not self.is_chief:
            return tf.summary.create_noop_writer()
        return tf.summary.create_file_writer(os.path.join(self.model_dir, "summaries"))

    # ------------------------------------------------------------------- loop

    def train(self):
        """Run (or resume) training to num_iterations; returns the last metrics.

        Every worker runs the same loop (steps, mask decisions, NaN checks, checkpoint
        saves); summaries, samples, configs, evaluations and the run summary come from the
        chief. A non-finite loss, BR sample or state raises ``NonFiniteError`` under
        ``nan_policy='stop'`` and rolls back to the last good checkpoint under ``'skip'``.
        """
        os.makedirs(self.model_dir, exist_ok=True)
        self.restore_or_initialize()
        writer = self._summary_writer()
        step = int(self.iteration.numpy())
        metrics, self._tick = {}, (time.perf_counter(), step)
        with writer.as_default():
            if self.is_chief:
                self.write_config()
                summaries.write_hparams(self)
            while step < self.num_iterations:
                try:
                    metrics = self.train_iteration(step + 1)
                    step += 1
                except nan_guard.NonFiniteError as error:
                    step = self.handle_non_finite(error)
            writer.flush()
        if self.is_chief:
            self.write_run_summary()
        return {k: float(v) for k, v in metrics.items()}

    def train_iteration(self, step):
        """Iteration ``step`` (1-based) with its host-side work: NaN check, mask events,
        summaries, logs, samples, invariant checks, checkpoint and evaluation."""
        measure_br = step % self.balance_ratio.br_freq == 0
        update_g = self.g_dst is not None and self.g_dst.should_update(step)
        decide_d = self.d_controller is not None and self.d_controller.is_check_iteration(step)
        out = self._iteration_fn(self.iterator, measure_br, update_g, decide_d)
        nan_guard.check_outputs(step, out)
        metrics = {"d_loss": out["d_loss"], "g_loss": out["g_loss"]}
        if measure_br:
            summaries.write_balance_ratio(self.balance_ratio, step, out["br_sample"])
        if update_g:
            self.write_g_mask_event(step, out["g_turnover"])
        if decide_d:
            self.density_decision(step, out.get("d_gradients"))
        last = step == self.num_iterations
        if step % self.summary_every == 0 or last:
            summaries.write_periodic(self, step, metrics)
        if step % self.log_every == 0 or last:
            self.log_progress(step, metrics)
        if self.is_chief and (step % self.sample_every == 0 or last):
            self.write_samples(step)
        if self.check_invariants_every and step % self.check_invariants_every == 0:
            check_invariants(self)
        if step % self.checkpoint_every == 0 or last:
            self.save_checkpoint()
            if self.is_chief and self.evaluator is not None:
                self.evaluator.maybe_evaluate(self, step)
        return metrics

    def log_progress(self, step, metrics):
        tick, tick_step = self._tick
        now = time.perf_counter()
        logging.info("iteration %d/%d  %.2f it/s  d_loss %.4f  g_loss %.4f", step,
                     self.num_iterations, (step - tick_step) / max(now - tick, 1e-9),
                     float(metrics["d_loss"]), float(metrics["g_loss"]))
        self._tick = (now, step)

    def handle_non_finite(self, error):
        """Apply ``nan_policy`` to a non-finite event; returns the iteration to go on from.

        ``stop`` (or ``skip`` with ``max_nan_skips`` used up) re-raises with the last good
        checkpoint named; ``skip`` restores that checkpoint, counts the skip (which also
        moves the latent seed) and rebuilds the input iterator at the restored position.
        """
        latest = self.checkpoint.latest
        kept = (f"The last good checkpoint {latest} is kept." if latest else
                "No checkpoint was written yet.")
        skips = int(self.nan_skips.numpy())
        if self.nan_policy == "stop":
            raise nan_guard.NonFiniteError(
                error.iteration, error.quantities,
                f"Stopped (nan_policy='stop'). {kept} Lower the learning rates, check the "
                f"data, or set GANTrainer.nan_policy = 'skip' to roll back and draw new "
                f"latents.") from error
        if skips >= self.max_nan_skips:
            raise nan_guard.NonFiniteError(
                error.iteration, error.quantities,
                f"Stopped ({skips} skips already, max_nan_skips={self.max_nan_skips}). {kept} "
                f"Lower the learning rates or check the data.") from error
        self.checkpoint.restore_latest()
        self.nan_skips.assign(skips + 1)
        self.iterator = self.make_iterator()
        step = int(self.iteration.numpy())
        logging.warning("%s. Skip %d of %d: rolled back to %s (iteration %d) with new latents.",
                        error, skips + 1, self.max_nan_skips, latest, step)
        tf.summary.scalar("nan_guard/skips", skips + 1, step=error.iteration)
        return step

    def write_run_summary(self):
        """A JSON of the final densities (per layer) and training FLOPs in model_dir."""
        step = int(self.iteration.numpy())
        g_flops, d_flops = self.flops.totals(step)
        dense_g, dense_d = self.flops.dense_totals(step)
        summary = {
            "iteration": step,
            "training_flops": {"G": g_flops, "D": d_flops, "dense_G": dense_g,
                               "dense_D": dense_d,
                               "normalized": self.flops.normalized(step),
                               "convention": "ADAPT paper (spec section 3)"},
            "g_density": float(view.global_density(self.g_layers)),
            "d_density": float(view.global_density(self.d_layers)),
            "g_layer_densities": view.layer_densities(self.g_layers),
            "d_layer_densities": view.layer_densities(self.d_layers),
        }
        atomic_write.write_json(os.path.join(self.model_dir, "run_summary.json"), summary)
        return summary
