"""Long check (`pytest -m slow`): paper recipes at full model size run a few iterations.

Uses the offline CIFAR-10 JPEG copy; skipped when ../shared/data does not have it. Schedules
are shortened so that a G prune-and-regrow and a D density decision happen within the run.
"""

import os

import gin
import numpy as np
import pytest

from ddst_tf import config
from ddst_tf.data.locations import cifar10_jpeg_zip
from ddst_tf.sparse import view

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.isfile(cifar10_jpeg_zip()),
                       reason=f"offline CIFAR-10 copy not found at {cifar10_jpeg_zip()}"),
]

# ΔT_D = 10 is the shortest period the official rule br_freq <= ΔT_D // 10 allows at br_freq 1.
SHORT = ["NUM_ITERATIONS = 11", "G_UPDATE_EVERY = 10", "DensityController.update_every = 10",
         "BalanceRatio.da_iters = 2", "BalanceRatio.br_freq = 1", "D_G = 0.1",
         "GANTrainer.dataset = 'cifar10_jpeg'", "GANTrainer.log_every = 1",
         "GANTrainer.checkpoint_every = 11", "GANTrainer.sample_every = 11"]


@pytest.mark.parametrize("recipe", ["sngan_cifar10/adapt_strict.gin",
                                    "biggan_cifar10/adapt_relax.gin"])
def test_full_size_recipe_trains_with_mask_events(recipe, tmp_path):
    from ddst_tf.training.trainer import GANTrainer
    gin.clear_config()
    config.parse([os.path.join(ROOT, "gin_configs", recipe)], SHORT)
    trainer = GANTrainer(model_dir=str(tmp_path))
    trainer.restore_or_initialize()
    g_nnz = int(view.total_nnz(trainer.state.g_layers))
    g_masks = view.get_masks(trainer.state.g_layers)
    metrics = trainer.train()
    assert all(np.isfinite(v) for v in metrics.values())
    assert int(view.total_nnz(trainer.state.g_layers)) == g_nnz
    assert any(not np.array_equal(g_masks[k], v)
               for k, v in view.get_masks(trainer.state.g_layers).items())
    assert int(trainer.state.d_controller.last_decision_iteration.numpy()) == 10
    trainer.invariants.check()
    gin.clear_config()
