"""Sparsity invariants: they hold after every mask event of short SDST and ADAPT runs, every
kind of violation is reported (all at once), and replica masks are compared under a strategy.

The strategy scenario needs 2 logical CPUs configured before TensorFlow starts, so it runs
this file as a script in a subprocess.
"""

import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")


def make_trainer(model_dir, *bindings):
    from ddst_tf import config
    from ddst_tf.training.trainer import GANTrainer
    gin.clear_config()
    config.parse([CONFIG], list(bindings))
    return GANTrainer(model_dir=str(model_dir))


# ------------------------------------------------------------ subprocess side

def replica_scenario(out_path):
    """Initial masks agree on both replicas; a mask changed on replica 1 only is reported."""
    from ddst_tf.training.strategies import make_strategy
    strategy = make_strategy("mirrored", num_cpu_devices=2)
    from ddst_tf import config
    from ddst_tf.training.trainer import GANTrainer
    config.parse([CONFIG], [])
    trainer = GANTrainer(model_dir=os.path.join(os.path.dirname(out_path), "run"),
                         strategy=strategy)
    trainer.restore_or_initialize()
    report = {"replicas": strategy.num_replicas_in_sync,
              "before": trainer.invariants.violations()}
    layer = trainer.state.d_layers[1]
    replica_one = strategy.experimental_local_results(layer.mask.value)[1]
    replica_one.assign(1.0 - replica_one)
    report.update(layer=layer.name, after=trainer.invariants.violations())
    with open(out_path, "w") as f:
        json.dump(report, f)


# ------------------------------------------------------------------ tests

@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture
def counted_checks(monkeypatch):
    """Every invariant check the trainer makes, with the iteration it ran at."""
    from ddst_tf.training.invariants import SparsityInvariants
    calls = []
    check = SparsityInvariants.check

    def counting(self, iteration=None):
        check(self, iteration)
        calls.append(int(self.state.iteration.numpy()))

    monkeypatch.setattr(SparsityInvariants, "check", counting)
    return calls


@pytest.mark.parametrize("run", ["sdst", "adapt"])
def test_invariants_hold_after_every_mask_event(tmp_path, counted_checks, run):
    from ddst_tf.sparse import view
    bindings = ["GANTrainer.check_invariants_every = 1"]
    if run == "sdst":
        bindings.append("GANTrainer.d_controller = None")
    trainer = make_trainer(tmp_path, *bindings)
    trainer.restore_or_initialize()
    g_masks = view.get_masks(trainer.state.g_layers)
    d_masks = view.get_masks(trainer.state.d_layers)
    trainer.train()
    assert counted_checks == list(range(1, 22))  # G DST at 10 and 20; ADAPT's D at 10 and 20
    assert any(not np.array_equal(g_masks[k], m)
               for k, m in view.get_masks(trainer.state.g_layers).items())
    d_changed = any(not np.array_equal(d_masks[k], m)
                    for k, m in view.get_masks(trainer.state.d_layers).items())
    assert d_changed == (run == "adapt")
    if run == "adapt":
        assert int(trainer.state.d_controller.num_changes.numpy()) == 2
        assert float(trainer.state.d_controller.density.numpy()) == 0.5


def test_every_violation_is_listed(tmp_path):
    from ddst_tf.sparse import view
    from ddst_tf.training.invariants import InvariantError, initial_nnz
    trainer = make_trainer(tmp_path)
    trainer.restore_or_initialize()
    trainer.invariants.check()
    g_nnz = int(view.total_nnz(trainer.state.g_layers))
    assert initial_nnz(trainer.state.g_layers, "erk", 0.3) == g_nnz
    assert trainer.invariants.d_target_nnz() == int(view.total_nnz(trainer.state.d_layers))

    g_layer = next(layer for layer in trainer.state.g_layers if np.any(layer.mask.numpy() == 0))
    d_first, d_second = trainer.state.d_layers[0], trainer.state.d_layers[1]
    ema_layer = view.masked_layers(trainer.state.G_ema)[-1]
    g_kernel = g_layer.kernel_variable.numpy()
    g_kernel[g_layer.mask.numpy() == 0] = 0.25  # every pruned G weight of one layer leaks
    g_layer.kernel_variable.assign(g_kernel)
    leaked = int(np.sum(g_layer.mask.numpy() == 0))
    mask = d_first.mask.numpy()
    mask[np.unravel_index(np.flatnonzero(mask)[0], mask.shape)] = 0.5
    d_first.mask.assign(mask)
    mask = d_second.mask.numpy()
    mask[np.unravel_index(np.flatnonzero(mask)[0], mask.shape)] = 0.0  # D loses a connection
    d_second.mask.assign(mask)
    d_second.kernel_variable.assign(d_second.kernel_variable.numpy() * mask)
    mask = ema_layer.mask.numpy()
    mask[np.unravel_index(np.flatnonzero(mask)[0], mask.shape)] = 0.0
    ema_layer.mask.assign(mask)
    ema_layer.kernel_variable.assign(ema_layer.kernel_variable.numpy() * mask)

    with pytest.raises(InvariantError) as raised:
        trainer.invariants.check()
    d_target = trainer.invariants.d_target_nnz()
    assert str(raised.value).splitlines() == [
        "4 sparsity invariant(s) violated at iteration 0:",
        f"  G {g_layer.name}: {leaked} masked weights are non-zero",
        f"  D {d_first.name}: mask is not binary (values [0.5])",
        f"  D: nnz {d_target - 1} != target {d_target}",
        f"  EMA {ema_layer.name}: mask differs from G's {trainer.state.g_layers[-1].name}",
    ]


def test_replica_masks_are_compared_under_a_strategy(tmp_path):
    out_path = str(tmp_path / "replicas.json")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, os.path.abspath(__file__), out_path],
                            capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    with open(out_path) as f:
        report = json.load(f)
    assert report["replicas"] == 2 and report["before"] == []
    assert report["after"] == [f"D {report['layer']}: mask on replicas [1] differs from replica 0"]


if __name__ == "__main__":
    replica_scenario(sys.argv[1])
