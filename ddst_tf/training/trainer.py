"""GANTrainer: builds a run's parts from its gin configuration and runs the training loop.

The parts, each in its own module:

- ``TrainState`` (state.py): everything checkpointed; ``TrainingCheckpoint`` saves it.
- ``GANStep`` (step.py): the compiled iteration, run with an ``IterationPlan``.
- ``MaskEvents`` (mask_events.py): ITOP, FLOPs, summaries and logs after G/D mask changes, and
  the D density decision.
- hooks (hooks.py): summaries, progress log, sample grids, invariant checks, checkpoint and
  evaluation, every N iterations.
- ``NonFiniteGuard`` (nan_guard.py): stop or roll back on a NaN/Inf.

The trainer hands the run's facts (``Recipe``: length, n_critic, densities, batches) to the
parts that need them: G's DST and D's controller are gin classes it constructs, so the run
length is bound once. Everything is built inside the strategy's scope, so moving from one
device to Mirrored or MultiWorker is a configuration change; only the chief writes files.
"""

import os

import gin
import tensorflow as tf
from absl import logging

from ddst_tf import atomic_write, stored_config, validation
from ddst_tf.balance.balance_ratio import check_br_config
from ddst_tf.data import datasets
from ddst_tf.eval.periodic import EvaluationTarget
from ddst_tf.recipes import Recipe
from ddst_tf.run_dir import RunDir, write_model_info
from ddst_tf.sparse import view
from ddst_tf.sparse.initialization import SparseInit
from ddst_tf.training import hooks, losses, nan_guard, run_lock, strategies, summaries
from ddst_tf.training.checkpointing import TrainingCheckpoint, checkpoint_fingerprint
from ddst_tf.training.divergence import DivergenceWatch
from ddst_tf.training.invariants import SparsityInvariants
from ddst_tf.training.latents import LatentSampler
from ddst_tf.training.mask_events import MaskEvents
from ddst_tf.training.state import TrainState
from ddst_tf.training.step import GANStep, IterationPlan
from ddst_tf.training.training_input import TrainingInput


@gin.configurable(denylist=["fresh_start", "allow_config_change"])
class GANTrainer:
    """Trains a sparse (or dense) GAN; see README "Training" and "Architecture" for the options.

    ``g_dst`` and ``d_controller`` are classes (gin ``@DynamicSparsity``,
    ``@DensityController``, no parentheses) that the trainer constructs with the run's facts.
    ``fresh_start`` moves a run's existing checkpoints aside and starts over;
    ``allow_config_change`` resumes a run whose configuration changed (the new one applies).
    """

    def __init__(self,
                 model_dir,
                 model=gin.REQUIRED,
                 dataset=gin.REQUIRED,
                 num_iterations=gin.REQUIRED,
                 densities=Recipe.densities,
                 sparse_init=Recipe.sparse_init,
                 g_dst=None,
                 d_controller=None,
                 balance_ratio=None,
                 measure_balance_ratio=True,
                 optimizer_gradients="dense",
                 evaluator=None,
                 gen_batch_size=Recipe.gen_batch_size,
                 disc_batch_size=Recipe.disc_batch_size,
                 n_critic=Recipe.n_critic,
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
                 divergence_policy="warn",
                 divergence_loss_limit=1e3,
                 divergence_br_limit=1e2,
                 divergence_patience=100,
                 check_invariants_every=0,
                 jit_compile=False,
                 strategy=None,
                 fresh_start=False,
                 allow_config_change=False):
        self.run_dir = RunDir(model_dir)
        self.config_text = gin.config_str()
        self.fresh_start = bool(fresh_start)
        self.allow_config_change = bool(allow_config_change)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.is_chief = strategies.is_chief(self.strategy)
        self.recipe = Recipe(model, dataset, num_iterations, densities, sparse_init,
                             gen_batch_size, disc_batch_size, n_critic,
                             dynamic=[name for name, part in [("g_dst", g_dst),
                                                              ("d_controller", d_controller)]
                                      if part is not None])
        recipe = self.recipe
        validation.integer("GANTrainer.n_critic", n_critic, 1, LatentSampler.max_n_critic())
        _check_divisible(recipe, self.strategy.num_replicas_in_sync)
        self.seed = validation.non_negative_int("GANTrainer.seed", seed)
        self.measure_balance_ratio = bool(measure_balance_ratio)
        self.data = datasets.load(dataset)
        self.g_dst = g_dst(num_steps=recipe.num_iterations) if g_dst is not None else None
        self.learning_rates = (
            validation.positive_real("GANTrainer.g_learning_rate", g_learning_rate),
            validation.positive_real("GANTrainer.d_learning_rate", d_learning_rate))
        self.state = state = TrainState.create(
            self.strategy, model=model, image_shape=self.data.image_shape,
            num_classes=self.data.num_classes, seed=self.seed, recipe=recipe,
            optimizer=(*self.learning_rates,
                       validation.real("GANTrainer.beta_1", beta_1, 0.0, 1.0, high_open=True),
                       validation.real("GANTrainer.beta_2", beta_2, 0.0, 1.0, high_open=True)),
            balance_ratio=balance_ratio, d_controller=d_controller)
        if state.d_controller is not None and state.d_controller.uses_balance_ratio:
            check_br_config(state.balance_ratio.br_freq, state.d_controller.update_every,
                            measured=self.measure_balance_ratio)
        self.input = TrainingInput(self.data, self.strategy, recipe.disc_batch_size,
                                   recipe.n_critic, self.seed)
        self.step = GANStep(
            state, self.strategy,
            LatentSampler(self.seed, state.latent_dim, state.num_classes, state.iteration,
                          state.nan_skips, self.strategy),
            losses.gan_loss(loss), gen_batch_size=recipe.gen_batch_size,
            disc_batch_size=recipe.disc_batch_size, n_critic=recipe.n_critic,
            ema_decay=ema_decay, g_dst=self.g_dst, seed=self.seed,
            optimizer_gradients=optimizer_gradients, jit_compile=bool(jit_compile))
        self.mask_events = MaskEvents(state, self.seed)
        self.checkpoint = TrainingCheckpoint(
            self.run_dir.checkpoints,
            max_to_keep=validation.positive_int("GANTrainer.keep_checkpoints", keep_checkpoints),
            strategy=self.strategy, **state.checkpoint_items())
        self.guard = nan_guard.NonFiniteGuard(nan_policy, max_nan_skips, self.checkpoint,
                                              self.restore_checkpoint, state.nan_skips,
                                              state.iteration)
        self.divergence = DivergenceWatch(divergence_policy, divergence_loss_limit,
                                          divergence_br_limit, divergence_patience)
        self.invariants = SparsityInvariants(state, self.strategy, sparse_init, recipe.densities)
        self.progress = hooks.ProgressLog(log_every, recipe.num_iterations)
        self.hooks = [hooks.PeriodicSummaries(summary_every, state), self.progress]
        samples = hooks.SampleGrids(sample_every, state.G_ema, self.run_dir, keep_samples,
                                    num_samples, self.seed)
        if self.is_chief:
            self.hooks.append(samples)
        self.hooks.append(hooks.InvariantCheck(check_invariants_every, self.invariants))
        if evaluator is not None:
            evaluator.check_schedule(checkpoint_every)
        self.hooks.append(hooks.CheckpointAndEvaluate(
            checkpoint_every, self.save_checkpoint, evaluator if self.is_chief else None,
            EvaluationTarget(state.G_ema, state.latent_dim, state.num_classes,
                             self.data.image_shape, self.run_dir.root, recipe.num_iterations)))
        self.iterator = None

    # ------------------------------------------------------------------- loop

    def train(self):
        """Run (or resume) training to num_iterations; returns the last losses.

        Every worker runs the same loop (steps, mask decisions, NaN checks, checkpoint saves);
        summaries, samples, configs, evaluations and the run summary come from the chief.
        """
        self.run_dir.make()
        if self.is_chief:
            run_lock.acquire(self.run_dir.root)
            for path in self.run_dir.remove_leftovers():
                logging.info("Removed %s, left by an interrupted write", path)
            self.check_stored_config()
        self.restore_or_initialize()
        iteration = int(self.state.iteration.numpy())
        metrics = {}
        writer = (tf.summary.create_file_writer(self.run_dir.summaries) if self.is_chief
                  else tf.summary.create_noop_writer())
        with writer.as_default():
            if self.is_chief:
                self.write_run_files()
            self.progress.start(iteration)
            while iteration < self.recipe.num_iterations:
                try:
                    metrics = self.train_iteration(iteration + 1)
                    iteration += 1
                except nan_guard.NonFiniteError as error:
                    self.guard.recover(error)
                    iteration = int(self.state.iteration.numpy())
                    self.iterator = self.input.iterator_at(iteration)
            writer.flush()
        if self.is_chief:
            self.write_run_summary()
        return {name: float(value) for name, value in metrics.items()}

    def train_iteration(self, iteration):
        """Iteration ``iteration`` (1-based): the compiled step, its NaN check, the mask
        events it caused, then the hooks that are due."""
        state = self.state
        plan = IterationPlan.for_iteration(
            iteration, state.balance_ratio.br_freq if self.measure_balance_ratio else None,
            self.g_dst, state.d_controller)
        out = self.step(self.iterator, plan)
        nan_guard.check_outputs(iteration, out)
        self.divergence.observe(iteration, out["d_loss"], out["g_loss"],
                                state.balance_ratio.value() if plan.measure_br else None)
        if plan.measure_br:
            summaries.write_balance_ratio(state.balance_ratio, iteration, out["br_sample"])
        if plan.update_g_masks:
            self.mask_events.g_masks_changed(iteration, out["g_turnover"])
        if plan.check_d_density:
            self.mask_events.decide_d_density(iteration, out.get("d_gradients"))
        metrics = {"d_loss": out["d_loss"], "g_loss": out["g_loss"]}
        last = iteration == self.recipe.num_iterations
        for hook in self.hooks:
            if hook.due(iteration, last):
                hook(iteration, metrics)
        return metrics

    # ---------------------------------------------------------- start and end

    def restore_or_initialize(self):
        """Resume from the latest checkpoint, or draw the initial masks of a fresh run.

        A fresh run under ``nan_policy='skip'`` saves its initial state (ckpt-0), the state
        a NaN before the first periodic checkpoint rolls back to. Returns the restored
        checkpoint's path or None.
        """
        path = self.restore_checkpoint(fresh_start=self.fresh_start)
        self.fresh_start = False  # only the first restore of this process starts over
        self.iterator = self.input.iterator_at(int(self.state.iteration.numpy()))
        if path is not None:
            logging.info("Resumed from %s at iteration %d", path,
                         int(self.state.iteration.numpy()))
            return path
        state, recipe = self.state, self.recipe
        SparseInit(method=recipe.sparse_init, density=recipe.g_density).apply(
            state.g_layers, seed=self.seed * 2 + 0)
        SparseInit(method=recipe.sparse_init, density=recipe.d_density).apply(
            state.d_layers, seed=self.seed * 2 + 1)
        self.step.ema.reset()
        state.g_itop.reset()
        state.d_itop.reset()
        state.flops.reset(0, view.layer_densities(state.g_layers),
                          view.layer_densities(state.d_layers))
        logging.info("Fresh run in %s: d_G=%.4f d_D=%.4f", self.run_dir.root,
                     float(view.global_density(state.g_layers)),
                     float(view.global_density(state.d_layers)))
        if self.guard.policy == "skip":
            self.save_checkpoint()
        return None

    def restore_checkpoint(self, fresh_start=False):
        """Restore the latest checkpoint (None: none), then put this config's settings that the
        checkpoint also holds back in force: the learning rates and the config fingerprint."""
        path = self.checkpoint.restore_latest(fresh_start=fresh_start)
        g_optimizer, d_optimizer = self.state.g_optimizer, self.state.d_optimizer
        g_optimizer.learning_rate.assign(self.learning_rates[0])
        d_optimizer.learning_rate.assign(self.learning_rates[1])
        self.state.config_fingerprint.assign(
            stored_config.fingerprint_words(stored_config.fingerprint(self.config_text)))
        return path

    def check_stored_config(self):
        """Refuse to resume with a changed configuration (see ``stored_config``); log the
        changes that are allowed."""
        if not self.run_dir.has_checkpoints():
            return
        for name, old, new in stored_config.check_resumable_config(
                self.run_dir.root, self.config_text, self.allow_config_change,
                checkpoint_fingerprint(self.checkpoint.latest)):
            logging.warning("Resuming with %s changed: %s -> %s", name, old, new)

    def save_checkpoint(self):
        """Save the training state (every worker calls this; only the chief keeps it).

        Raises ``NonFiniteError`` instead of saving state that holds a NaN or Inf.
        """
        iteration = int(self.state.iteration.numpy())
        nan_guard.check_variables(iteration, self.state.float_variables())
        return self.checkpoint.save(iteration)

    def write_run_files(self):
        """config.gin, model.json, operative_config.gin, run.json and the TensorBoard hparams."""
        state = self.state
        atomic_write.write_text(self.run_dir.config, self.config_text)
        write_model_info(self.run_dir.root, self.recipe.model, self.data.image_shape,
                         state.num_classes, state.latent_dim)
        atomic_write.write_text(self.run_dir.operative_config, gin.operative_config_str())
        atomic_write.write_json(self.run_dir.run_info, self.run_info())
        summaries.write_hparams(self.hparams(),
                                trial_id=os.path.basename(os.path.normpath(self.run_dir.root)))

    def run_info(self):
        """The run's facts for tools (plots, studies): recipe, D control, BR settings."""
        controller, balance_ratio = self.state.d_controller, self.state.balance_ratio
        return {
            "recipe": self.recipe.as_dict(),
            "seed": self.seed,
            "g_dst": None if self.g_dst is None else {
                "grow_score": self.g_dst.grow_score_name,
                "update_every": self.g_dst.schedule.update_every},
            "d_controller": None if controller is None else {
                "mode": controller.mode, "bounds": [controller.lower_bound,
                                                    controller.upper_bound],
                "update_every": controller.update_every, "delta": controller.delta,
                "cap": controller.cap},
            "balance_ratio": {"measured": self.measure_balance_ratio,
                              "da_iters": balance_ratio.da_iters,
                              "br_freq": balance_ratio.br_freq},
        }

    def hparams(self):
        """The run's settings of note, for TensorBoard's hparams dashboard."""
        recipe, controller = self.recipe, self.state.d_controller
        return {
            "model": recipe.model, "d_G": recipe.g_density, "d_D_initial": recipe.d_density,
            "sparse_init": recipe.sparse_init, "n_critic": recipe.n_critic,
            "gen_batch_size": recipe.gen_batch_size,
            "disc_batch_size": recipe.disc_batch_size,
            "num_iterations": recipe.num_iterations, "seed": self.seed,
            "g_dst": self.g_dst.grow_score_name if self.g_dst else "static",
            "d_control": controller.mode if controller else "static",
            "optimizer_gradients": self.step.optimizer_gradients,
        }

    def write_run_summary(self):
        """A JSON of the final densities (per layer) and training FLOPs in model_dir."""
        state = self.state
        iteration = int(state.iteration.numpy())
        g_flops, d_flops = state.flops.totals(iteration)
        dense_g, dense_d = state.flops.dense_totals(iteration)
        summary = {
            "iteration": iteration,
            "training_flops": {"G": g_flops, "D": d_flops, "dense_G": dense_g,
                               "dense_D": dense_d,
                               "normalized": state.flops.normalized(iteration),
                               "convention": "ADAPT paper (spec section 3)"},
            "g_density": float(view.global_density(state.g_layers)),
            "d_density": float(view.global_density(state.d_layers)),
            "g_layer_densities": view.layer_densities(state.g_layers),
            "d_layer_densities": view.layer_densities(state.d_layers),
        }
        atomic_write.write_json(self.run_dir.run_summary, summary)
        return summary


def _check_divisible(recipe, replicas):
    for name, value in [("gen_batch_size", recipe.gen_batch_size),
                        ("disc_batch_size", recipe.disc_batch_size)]:
        if value % replicas:
            raise validation.InvalidValueError(
                f"GANTrainer.{name}={value} is not divisible by the {replicas} replicas of the "
                f"distribution strategy")
