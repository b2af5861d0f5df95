"""NaN/Inf guard: a non-finite loss, BR sample or state stops the run (last good checkpoint
kept) or, with nan_policy='skip', rolls back, draws new latents and counts the skip."""

import math
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from console_scripts import train_digits
from ddst_tf import config
from ddst_tf.training import nan_guard
from ddst_tf.training.nan_guard import NonFiniteError

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")
NUM_ITERATIONS = 8
POISONED_ITERATION = 5  # 1-based; the iteration counter reads 4 while it runs


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def make_trainer(model_dir, *bindings):
    from ddst_tf.training.trainer import GANTrainer
    config.parse([CONFIG], [f"NUM_ITERATIONS = {NUM_ITERATIONS}",
                               "GANTrainer.checkpoint_every = 2", *bindings])
    return GANTrainer(model_dir=str(model_dir))


def poison(trainer, loss_name, iteration, first_try_only=False):
    """Make ``trainer``'s D or G loss NaN at 1-based ``iteration`` (before the first trace)."""
    loss_fn = getattr(trainer.step, loss_name)

    def poisoned(*logits):
        loss = loss_fn(*logits)
        hit = tf.equal(trainer.state.iteration, iteration - 1)
        if first_try_only:
            hit = tf.logical_and(hit, tf.equal(trainer.state.nan_skips, 0))
        return tf.where(hit, tf.fill(tf.shape(loss), math.nan), loss)

    setattr(trainer.step, loss_name, poisoned)


def checkpoint_numbers(model_dir):
    return sorted(int(name[len("ckpt-"):-len(".index")])
                  for name in os.listdir(os.path.join(model_dir, "checkpoints"))
                  if name.endswith(".index"))


def all_finite(path):
    reader = tf.train.load_checkpoint(path)
    return all(np.all(np.isfinite(reader.get_tensor(key)))
               for key, dtype in reader.get_variable_to_dtype_map().items() if dtype.is_floating)


def test_helpers_name_non_finite_outputs_and_validate_the_policy():
    outputs = {"d_loss": np.float32(1.0), "g_loss": np.float32(np.inf),
               "br_sample": np.array([0.1, np.nan, 0.2])}
    assert nan_guard.non_finite_outputs(outputs) == ["G loss", "balance-ratio sample"]
    assert nan_guard.non_finite_outputs({"d_loss": 0.5, "g_loss": -1.0}) == []
    with pytest.raises(ValueError, match=r"nan_policy must be one of \['stop', 'skip'\]; "
                                         r"got 'retry'"):
        nan_guard.check_policy("retry", 3)
    with pytest.raises(ValueError, match="max_nan_skips must be an integer >= 0; got -1"):
        nan_guard.check_policy("skip", -1)
    assert str(NonFiniteError(7, ["D loss", "G loss"])) == (
        "Non-finite D loss, G loss at iteration 7")


@pytest.mark.parametrize("quantity", ["D loss", "balance-ratio sample"])
def test_stop_names_iteration_and_quantity_and_keeps_the_last_good_checkpoint(
        tmp_path, monkeypatch, quantity):
    trainer = make_trainer(tmp_path)
    if quantity == "balance-ratio sample":
        from ddst_tf.training import step as step_module
        sample = step_module.balance_ratio_sample

        def poisoned_sample(*logits):
            g_post, g_pre, real = sample(*logits)
            hit = tf.equal(trainer.state.iteration, POISONED_ITERATION - 1)
            return tf.where(hit, math.inf, g_post), g_pre, real

        monkeypatch.setattr(step_module, "balance_ratio_sample", poisoned_sample)
    else:
        poison(trainer, {"D loss": "d_loss_fn", "G loss": "g_loss_fn"}[quantity],
               POISONED_ITERATION)
    with pytest.raises(NonFiniteError) as raised:
        trainer.train()
    message = str(raised.value)
    assert message.startswith(f"Non-finite {quantity} at iteration {POISONED_ITERATION}.")
    assert "nan_policy='stop'" in message and "ckpt-4 is kept" in message
    assert checkpoint_numbers(tmp_path) == [2, 4]
    assert all_finite(os.path.join(tmp_path, "checkpoints", "ckpt-4"))


def test_state_with_a_nan_is_never_saved(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.restore_or_initialize()
    bias = trainer.state.D.trainable_variables[-1]
    bias.assign(tf.fill(bias.shape, math.nan))
    with pytest.raises(NonFiniteError, match=f"Non-finite state variable {bias.path} at "
                                             f"iteration 0"):
        trainer.save_checkpoint()
    assert not os.path.exists(os.path.join(tmp_path, "checkpoints", "checkpoint"))


def test_each_skip_moves_the_latent_seed(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.restore_or_initialize()
    first, _ = trainer.step.latents(16, 3)
    np.testing.assert_array_equal(first, tf.random.stateless_normal([16, 8], seed=[0, 3]))
    trainer.state.nan_skips.assign(1)
    second, _ = trainer.step.latents(16, 3)
    np.testing.assert_array_equal(second, tf.random.stateless_normal([16, 8], seed=[2 ** 32, 3]))


@pytest.mark.parametrize("iteration,rolled_back_to", [(1, 0), (POISONED_ITERATION, 4)])
def test_skip_rolls_back_and_counts(tmp_path, caplog, iteration, rolled_back_to):
    trainer = make_trainer(tmp_path, "GANTrainer.nan_policy = 'skip'")
    poison(trainer, "d_loss_fn", iteration, first_try_only=True)
    metrics = trainer.train()
    assert all(math.isfinite(value) for value in metrics.values())
    assert int(trainer.state.iteration.numpy()) == NUM_ITERATIONS
    assert int(trainer.state.nan_skips.numpy()) == 1
    assert (f"Non-finite D loss at iteration {iteration}. Skip 1 of 3: rolled back to "
            f"{os.path.join(tmp_path, 'checkpoints', f'ckpt-{rolled_back_to}')} "
            f"(iteration {rolled_back_to}) with new latents.") in caplog.text
    reader = tf.train.load_checkpoint(os.path.join(tmp_path, "checkpoints",
                                                   f"ckpt-{NUM_ITERATIONS}"))
    assert reader.get_tensor("nan_skips/.ATTRIBUTES/VARIABLE_VALUE") == 1
    assert all_finite(os.path.join(tmp_path, "checkpoints", f"ckpt-{NUM_ITERATIONS}"))


def test_skip_stops_after_max_nan_skips(tmp_path):
    trainer = make_trainer(tmp_path, "GANTrainer.nan_policy = 'skip'",
                           "GANTrainer.max_nan_skips = 2")
    poison(trainer, "g_loss_fn", 3)
    with pytest.raises(NonFiniteError, match=r"Non-finite G loss at iteration 3\. Stopped \(2 "
                                             r"skips already, max_nan_skips=2\)\. The last good "
                                             r"checkpoint .*ckpt-2 is kept"):
        trainer.train()
    assert int(trainer.state.nan_skips.numpy()) == 2


def test_ddst_train_exits_non_zero_when_a_huge_learning_rate_overflows(tmp_path):
    result = train_digits(tmp_path, "--gin_bindings=GANTrainer.d_learning_rate = 1e35",
                          check=False)
    assert result.returncode != 0
    assert "ddst-train: Non-finite D loss" in result.stderr
    assert "at iteration 1. Stopped (nan_policy='stop'). No checkpoint was written yet." \
        in result.stderr
    assert not os.path.exists(os.path.join(tmp_path, "checkpoints", "checkpoint"))
