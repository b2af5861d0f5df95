"""ddst_tf.training.hooks: when each hook is due, the progress line, sample-grid retention."""

import os

import keras
import numpy as np
import pytest
from absl import logging

from ddst_tf.run_dir import RunDir
from ddst_tf.training import hooks


class Recorder(hooks.EveryN):
    def __init__(self, every):
        super().__init__(every, "Recorder.every")
        self.calls = []

    def __call__(self, iteration, metrics):
        self.calls.append(iteration)


def test_every_n_is_due_on_its_grid_and_after_the_last_iteration():
    hook = Recorder(4)
    due = [i for i in range(1, 11) if hook.due(i, last=i == 10)]
    assert due == [4, 8, 10]
    with pytest.raises(ValueError, match="Recorder.every must be a positive integer; got 0"):
        Recorder(0)


def test_invariant_check_is_off_at_zero_and_never_forced_by_the_last_iteration():
    class Invariants:
        def __init__(self):
            self.checked = []

        def check(self, iteration):
            self.checked.append(iteration)

    invariants = Invariants()
    off = hooks.InvariantCheck(0, invariants)
    assert not any(off.due(i, last=True) for i in range(1, 5))
    on = hooks.InvariantCheck(3, invariants)
    assert [i for i in range(1, 8) if on.due(i, last=i == 7)] == [3, 6]
    on(3, {})
    assert invariants.checked == [3]


def test_progress_line_has_rate_elapsed_and_eta(monkeypatch):
    times = iter([100.0, 110.0, 130.0])
    progress = hooks.ProgressLog(10, num_iterations=100, clock=lambda: next(times))
    progress.start(20)
    lines = []
    monkeypatch.setattr(logging, "info", lambda fmt, *args: lines.append(fmt % args))
    progress(30, {"d_loss": 1.5, "g_loss": -0.25})
    progress(40, {"d_loss": 1.0, "g_loss": 0.5})
    # 10 iterations in 10 s, then 10 in 20 s: 20 in 30 s overall, 60 left -> 90 s.
    assert lines == [
        "iteration 30/100  1.00 it/s  elapsed 0:00:10  ETA 0:01:10  d_loss 1.5000  g_loss -0.2500",
        "iteration 40/100  0.50 it/s  elapsed 0:00:30  ETA 0:01:30  d_loss 1.0000  g_loss 0.5000"]
    assert hooks.format_duration(3725.4) == "1:02:05"


def test_sample_grids_keep_the_newest_and_leave_other_files(tmp_path):
    inputs = keras.Input((4,))
    generator = keras.Model(inputs, keras.layers.Reshape((2, 2, 1))(
        keras.layers.Activation("tanh")(inputs)))
    generator.latent_dim = 4
    run = RunDir(tmp_path)
    os.makedirs(run.samples)
    (tmp_path / "samples" / "notes.txt").write_text("mine")
    grids = hooks.SampleGrids(1, generator, run, keep=2, num_samples=4, seed=3)
    np.testing.assert_array_equal(grids.generate(), grids.generate())
    for iteration in (1, 2, 3):
        grids(iteration, {})
    assert sorted(os.listdir(run.samples)) == ["iter_0000002.png", "iter_0000003.png",
                                               "latest.png", "notes.txt"]
