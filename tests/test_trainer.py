"""GANTrainer on scikit-learn digits: static, SDST and ADAPT runs, invariants, bad input."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.cli import gin_setup
from ddst_tf.layers.masked import effective_kernel_gradients, watch_masks
from ddst_tf.sparse import view

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
    gin_setup.register_configurables()
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
    g_nnz = int(view.total_nnz(trainer.g_layers))
    d_masks = view.get_masks(trainer.d_layers)
    snapshots = [view.get_masks(trainer.g_layers)]
    for step in range(1, 12):
        update = trainer.g_dst.should_update(step)
        trainer._iteration_fn(trainer.iterator, False, update, False)
        if update:
            snapshots.append(view.get_masks(trainer.g_layers))
            assert int(view.total_nnz(trainer.g_layers)) == g_nnz
            for layer, ema_layer in zip(trainer.g_layers, view.masked_layers(trainer.G_ema)):
                ema_kernel = ema_layer.kernel_variable.numpy()
                assert np.all(ema_kernel[layer.mask.numpy() == 0] == 0)
                assert np.all(layer.kernel_variable.numpy()[layer.mask.numpy() == 0] == 0)
    assert len(snapshots) == 4  # updates at G steps 3, 6, 9 (none at the end)
    for before, after in zip(snapshots, snapshots[1:]):
        assert any(not np.array_equal(before[k], after[k]) for k in before)
    for name, mask in view.get_masks(trainer.d_layers).items():
        np.testing.assert_array_equal(mask, d_masks[name])
    assert float(trainer.g_itop.rate()) > 0.3


def test_adapt_run_logs_br_and_moves_d_density(tmp_path):
    trainer = make_trainer(
        tmp_path, "NUM_ITERATIONS = 200", "N_CRITIC = 2", "D_D = 0.5",
        "GANTrainer.num_iterations = %NUM_ITERATIONS", "GANTrainer.densities = (0.5, %D_D)",
        "include 'common/adapt_relax.gin'", "G_UPDATE_EVERY = 50",
        "DensityController.update_every = 40", "BalanceRatio.da_iters = 40",
        "BalanceRatio.br_freq = 4")
    trainer.train()
    assert int(trainer.balance_ratio.count) == 50
    assert int(trainer.d_controller.num_changes) >= 1
    d_density = float(view.global_density(trainer.d_layers))
    assert abs(d_density - 0.5) > 0.04
    assert abs(d_density - float(trainer.d_controller.density)) < 1e-3
    events = list((tmp_path / "summaries").glob("events.out.tfevents.*"))
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(events[0]))
            for v in e.summary.value}
    assert {"balance_ratio/br", "balance_ratio/alpha_mean", "balance_ratio/beta_mean",
            "D_controller/density", "G/turnover", "itop/G"} <= tags


@pytest.mark.parametrize("binding,message", [
    ("GANTrainer.n_critic = 0", r"n_critic must be >= 1 \(and < 1022\); got 0"),
    ("GANTrainer.densities = (0.0, 0.5)", r"densities\[0\] \(d_G\) must be in \(0, 1\]; got 0.0"),
    ("GANTrainer.densities = (0.5, 1.5)", r"densities\[1\] \(d_D\) must be in \(0, 1\]; got 1.5"),
    ("GANTrainer.optimizer_gradients = 'sparse'", "optimizer_gradients must be"),
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
    grads = [g.numpy() for g in trainer._g_growth_gradients()]
    layers = trainer.g_layers
    pruned = [(g, layer.mask.numpy() == 0) for g, layer in zip(grads, layers)
              if (layer.mask.numpy() == 0).any()]
    assert pruned and all(np.count_nonzero(g[where]) > 0 for g, where in pruned)

    # The trainer's growth gradients are those of the G loss on the fresh draw n_critic + 1,
    # not on the G step's own draw n_critic.
    fresh, step_draw = trainer.n_critic + 1, trainer.n_critic
    z_fresh, _ = trainer._latents(trainer.gen_batch_size, fresh)
    z_step, _ = trainer._latents(trainer.gen_batch_size, step_draw)
    assert not np.allclose(z_fresh.numpy(), z_step.numpy())
    for draw, same in ((fresh, True), (step_draw, False)):
        z, _ = trainer._latents(trainer.gen_batch_size, draw)
        with tf.GradientTape() as tape:
            watch_masks(tape, layers)
            loss, _ = trainer._g_forward(z, None)
        expected = [g.numpy() for g in effective_kernel_gradients(tape, loss, layers)]
        matches = all(np.allclose(a, b, atol=1e-6) for a, b in zip(grads, expected))
        assert matches == same
