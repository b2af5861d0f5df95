"""GANTrainer on scikit-learn digits: static, SDST and ADAPT runs, invariants, bad input."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf import config
from ddst_tf.layers.masked import effective_kernel_gradients, watch_masks
from ddst_tf.sparse import view
from ddst_tf.training.step import IterationPlan

pytestmark = pytest.mark.integration

TINY = """
GANTrainer.model = 'dcgan'
GANTrainer.dataset = 'digits'
GANTrainer.sparse_init = 'erk'
GANTrainer.gen_batch_size = 16
GANTrainer.disc_batch_size = 8
GANTrainer.n_critic = 2
GANTrainer.ema_decay = 0.9
GANTrainer.log_every = 1000
GANTrainer.summary_every = 1000
GANTrainer.sample_every = 1000
GANTrainer.checkpoint_every = 1000
GANTrainer.num_samples = 4
dcgan_generator.latent_dim = 8
dcgan_generator.base_width = 4
dcgan_discriminator.base_width = 4
"""


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def make_trainer(tmp_path, *bindings):
    from ddst_tf.training.trainer import GANTrainer
    config.register_configurables()
    gin.add_config_file_search_path(str(__import__("pathlib").Path(__file__).parents[1]
                                        / "gin_configs"))
    gin.parse_config(TINY)
    gin.parse_config_files_and_bindings([], list(bindings))
    return GANTrainer(model_dir=str(tmp_path))


def test_sdst_changes_g_masks_keeps_nnz_and_leaves_d_alone(tmp_path):
    trainer = make_trainer(
        tmp_path, "NUM_ITERATIONS = 12", "GANTrainer.num_iterations = %NUM_ITERATIONS",
        "GANTrainer.densities = (0.3, 0.5)", "include 'common/g_dst_rigl.gin'",
        "G_UPDATE_EVERY = 3")
    trainer.restore_or_initialize()
    g_nnz = int(view.total_nnz(trainer.state.g_layers))
    d_masks = view.get_masks(trainer.state.d_layers)
    snapshots = [view.get_masks(trainer.state.g_layers)]
    for step in range(1, 12):
        update = trainer.g_dst.should_update(step)
        trainer.step(trainer.iterator, IterationPlan(update_g_masks=update))
        if update:
            snapshots.append(view.get_masks(trainer.state.g_layers))
            assert int(view.total_nnz(trainer.state.g_layers)) == g_nnz
            for layer, ema_layer in zip(trainer.state.g_layers, view.masked_layers(trainer.state.G_ema)):
                ema_kernel = ema_layer.kernel_variable.numpy()
                assert np.all(ema_kernel[layer.mask.numpy() == 0] == 0)
                assert np.all(layer.kernel_variable.numpy()[layer.mask.numpy() == 0] == 0)
    assert len(snapshots) == 4  # updates at G steps 3, 6, 9 (none at the end)
    for before, after in zip(snapshots, snapshots[1:]):
        assert any(not np.array_equal(before[k], after[k]) for k in before)
    for name, mask in view.get_masks(trainer.state.d_layers).items():
        np.testing.assert_array_equal(mask, d_masks[name])
    assert float(trainer.state.g_itop.rate()) > 0.3


def test_adapt_run_logs_br_and_moves_d_density(tmp_path):
    trainer = make_trainer(
        tmp_path, "NUM_ITERATIONS = 200", "N_CRITIC = 2", "D_D = 0.5",
        "GANTrainer.num_iterations = %NUM_ITERATIONS", "GANTrainer.densities = (0.5, %D_D)",
        "include 'common/adapt_relax.gin'", "G_UPDATE_EVERY = 50",
        "DensityController.update_every = 40", "BalanceRatio.da_iters = 40",
        "BalanceRatio.br_freq = 4")
    trainer.train()
    assert int(trainer.state.balance_ratio.count) == 50
    assert int(trainer.state.d_controller.num_changes) >= 1
    d_density = float(view.global_density(trainer.state.d_layers))
    assert abs(d_density - 0.5) > 0.04
    assert abs(d_density - float(trainer.state.d_controller.density)) < 1e-3
    events = list((tmp_path / "summaries").glob("events.out.tfevents.*"))
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(events[0]))
            for v in e.summary.value}
    assert {"balance_ratio/br", "balance_ratio/alpha_mean", "balance_ratio/beta_mean",
            "D_controller/density", "G/turnover", "itop/G"} <= tags


@pytest.mark.parametrize("binding,message", [
    ("GANTrainer.n_critic = 0", r"GANTrainer.n_critic must be a positive integer; got 0"),
    ("GANTrainer.n_critic = 2.0", r"GANTrainer.n_critic must be an integer; got 2.0 \(float\)"),
    ("GANTrainer.n_critic = 1022", r"GANTrainer.n_critic must be an integer in \[1, 1021\]"),
    ("GANTrainer.densities = (0.0, 0.5)",
     r"GANTrainer.densities\[0\] \(d_G\) must be in \(0, 1\]; got 0"),
    ("GANTrainer.densities = (0.5, 1.5)",
     r"GANTrainer.densities\[1\] \(d_D\) must be in \(0, 1\]; got 1.5"),
    ("GANTrainer.optimizer_gradients = 'sparse'",
     r"GANTrainer.optimizer_gradients must be one of \['dense', 'masked'\]; got 'sparse'"),
    ("GANTrainer.g_learning_rate = -1e-4",
     r"GANTrainer.g_learning_rate must be in \(0, inf\); got -0.0001"),
    ("GANTrainer.model = 'nope'", "Unknown.*'nope'.*dcgan"),
    ("GANTrainer.dataset = 'nope'", "(?i)unknown dataset 'nope'.*digits"),
    ("GANTrainer.loss = 'nope'", "Unknown GAN loss 'nope'"),
])
def test_bad_input_names_the_value(tmp_path, binding, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, "GANTrainer.num_iterations = 2", binding)


def test_growth_gradients_are_dense_and_from_a_fresh_latent_batch(tmp_path):
    trainer = make_trainer(tmp_path, "GANTrainer.num_iterations = 2",
                           "GANTrainer.densities = (0.3, 0.5)")
    trainer.restore_or_initialize()
    grads = [g.numpy() for g in trainer.step.g_growth_gradients()]
    layers = trainer.state.g_layers
    pruned = [(g, layer.mask.numpy() == 0) for g, layer in zip(grads, layers)
              if (layer.mask.numpy() == 0).any()]
    assert pruned and all(np.count_nonzero(g[where]) > 0 for g, where in pruned)

    # The trainer's growth gradients are those of the G loss on the fresh draw n_critic + 1,
    # not on the G step's own draw n_critic.
    fresh, step_draw = trainer.recipe.n_critic + 1, trainer.recipe.n_critic
    z_fresh, _ = trainer.step.latents(trainer.recipe.gen_batch_size, fresh)
    z_step, _ = trainer.step.latents(trainer.recipe.gen_batch_size, step_draw)
    assert not np.allclose(z_fresh.numpy(), z_step.numpy())
    for draw, same in ((fresh, True), (step_draw, False)):
        z, _ = trainer.step.latents(trainer.recipe.gen_batch_size, draw)
        with tf.GradientTape() as tape:
            watch_masks(tape, layers)
            loss, _ = trainer.step.g_forward(z, None)
        expected = [g.numpy() for g in effective_kernel_gradients(tape, loss, layers)]
        matches = all(np.allclose(a, b, atol=1e-6) for a, b in zip(grads, expected))
        assert matches == same


def test_run_length_is_bound_once_and_reaches_the_schedules(tmp_path):
    trainer = make_trainer(
        tmp_path, "NUM_ITERATIONS = 1000", "GANTrainer.num_iterations = %NUM_ITERATIONS",
        "GANTrainer.densities = (0.3, 0.3)", "include 'common/adapt_strict.gin'",
        "DensityController.update_every = 20", "BalanceRatio.da_iters = 20",
        "BalanceRatio.br_freq = 2", "GANTrainer.num_iterations = 40")
    assert trainer.recipe.num_iterations == 40
    assert trainer.g_dst.schedule.end_step == 40
    controller = trainer.state.d_controller
    assert (controller.num_iterations, controller.n_critic) == (40, 2)
    assert controller.initial_density == 0.3
    assert controller.dst_schedule.end_step == 40 * 2
    assert not controller.is_check_iteration(40) and controller.is_check_iteration(20)


@pytest.mark.parametrize("binding", ["DensityController.num_iterations = 5",
                                     "DensityController.n_critic = 5",
                                     "DensityController.initial_density = 0.5",
                                     "CosineDropFraction.end_step = 5",
                                     "DynamicSparsity.num_steps = 5"])
def test_run_facts_cannot_be_bound_to_the_parts(tmp_path, binding):
    with pytest.raises(ValueError, match="denylisted"):
        make_trainer(tmp_path, "GANTrainer.num_iterations = 2", binding)


@pytest.mark.parametrize("bindings,message", [
    (["BalanceRatio.br_freq = 5"],
     r"BalanceRatio.br_freq=5 is too large for DensityController.update_every=40: br_freq "
     r"must be <= update_every // 10 = 4"),
    (["GANTrainer.measure_balance_ratio = False"],
     "decides from the balance ratio, but GANTrainer.measure_balance_ratio = False"),
])
def test_br_rules_of_a_br_driven_controller_are_checked_at_start_up(tmp_path, bindings,
                                                                     message):
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, "NUM_ITERATIONS = 100",
                     "GANTrainer.num_iterations = %NUM_ITERATIONS",
                     "include 'common/adapt_relax.gin'", "DensityController.update_every = 40",
                     "BalanceRatio.da_iters = 40", *bindings)


def test_without_balance_ratio_measurement_no_sample_is_taken(tmp_path):
    trainer = make_trainer(tmp_path, "GANTrainer.num_iterations = 3",
                           "GANTrainer.measure_balance_ratio = False",
                           "BalanceRatio.br_freq = 1", "BalanceRatio.da_iters = 2")
    trainer.train()
    assert int(trainer.state.balance_ratio.count.numpy()) == 0
