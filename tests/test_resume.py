"""Exact resume: ddst-train killed with SIGKILL mid-run and resumed ends like an uninterrupted
run (every checkpointed variable equal); partial or corrupted checkpoints; bounded outputs."""

import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf import config

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")
TRAIN = os.path.join(os.path.dirname(sys.executable), "ddst-train")
NUM_ITERATIONS = 40
KEEP_CHECKPOINTS = 2
KEEP_SAMPLES = 2
# G prunes and regrows every 10 iterations; D (BR always >= B+) grows 0.40 -> 0.45 -> 0.50
# at iterations 10 and 20, then runs strict-mode DST at 30.
BINDINGS = [f"NUM_ITERATIONS = {NUM_ITERATIONS}", "DensityController.delta = 0.05",
            "GANTrainer.checkpoint_every = 2", f"GANTrainer.keep_checkpoints = {KEEP_CHECKPOINTS}",
            "GANTrainer.sample_every = 3", f"GANTrainer.keep_samples = {KEEP_SAMPLES}"]
# The kill waits for this checkpoint (after two G and two D mask events), then a random delay,
# cut short once the run reaches KILL_BEFORE_CHECKPOINT (before the D-DST at 30, so that D's
# masks change again after the kill).
KILL_AFTER_CHECKPOINT = 22
KILL_BEFORE_CHECKPOINT = 28
MAX_KILL_DELAY_SECONDS = 0.5
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 300


def train_command(model_dir):
    return ([TRAIN, f"--gin_file={CONFIG}", f"--model_dir={model_dir}"]
            + [f"--gin_bindings={binding}" for binding in BINDINGS])


def start(model_dir, log_path):
    """ddst-train on model_dir in the background, its output going to log_path (not a pipe
    that could fill up and block it)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log_path, "w") as log:
        process = subprocess.Popen(train_command(model_dir), stdout=log,
                                   stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    process.log_path = log_path
    return process


def log_of(process):
    with open(process.log_path) as f:
        return f.read()


def latest_number(model_dir):
    """The number of the checkpoint the state file names as latest (0 if none yet)."""
    try:
        with open(os.path.join(model_dir, "checkpoints", "checkpoint")) as f:
            found = re.search(r'^model_checkpoint_path: ".*ckpt-(\d+)"', f.read(), re.M)
    except FileNotFoundError:
        return 0
    return int(found.group(1)) if found else 0


def kill_mid_run(process, model_dir, delay):
    """SIGKILL ``delay`` s after KILL_AFTER_CHECKPOINT exists (or at KILL_BEFORE_CHECKPOINT)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while latest_number(model_dir) < KILL_AFTER_CHECKPOINT:
        assert process.poll() is None, log_of(process)[-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(POLL_SECONDS)
    kill_at = time.monotonic() + delay
    while time.monotonic() < kill_at and latest_number(model_dir) < KILL_BEFORE_CHECKPOINT:
        time.sleep(POLL_SECONDS)
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=TIMEOUT_SECONDS)


def finish(process):
    returncode = process.wait(timeout=TIMEOUT_SECONDS)
    assert returncode == 0, log_of(process)[-3000:]
    return log_of(process)


def checkpoint_values(model_dir):
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return path, {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}


def value_ending(values, suffix):
    (key,) = [key for key in values if key.endswith(suffix)]
    return values[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(uninterrupted dir, killed-and-resumed dir, checkpoint number at the kill, resume log)."""
    whole = str(tmp_path_factory.mktemp("uninterrupted"))
    killed = str(tmp_path_factory.mktemp("killed"))
    logs = tmp_path_factory.mktemp("logs")
    uninterrupted = start(whole, logs / "uninterrupted.log")
    victim = start(killed, logs / "killed.log")
    delay = random.Random().uniform(0.0, MAX_KILL_DELAY_SECONDS)
    returncode = kill_mid_run(victim, killed, delay)
    killed_at = latest_number(killed)
    assert returncode == -signal.SIGKILL and killed_at < NUM_ITERATIONS, (
        f"the run was not killed mid-run (rc {returncode}, latest ckpt-{killed_at}, "
        f"delay {delay:.3f}s)")
    _, at_kill = checkpoint_values(killed)
    resumed_log = finish(start(killed, logs / "resumed.log"))
    finish(uninterrupted)
    return whole, killed, killed_at, at_kill, resumed_log


def test_killed_run_resumes_from_its_last_checkpoint(runs):
    _, _, killed_at, at_kill, log = runs
    assert f"at iteration {killed_at}" in log and "Resumed from" in log
    assert f"iteration {NUM_ITERATIONS}/{NUM_ITERATIONS}" in log
    # Mask events happened before the kill point (G updates at 10, 20; D grew at 10, 20).
    assert int(value_ending(at_kill, "d_controller/num_changes/.ATTRIBUTES/VARIABLE_VALUE")) >= 2


def test_resumed_run_equals_uninterrupted_run_in_every_variable(runs):
    whole, killed, _, at_kill, _ = runs
    whole_path, expected = checkpoint_values(whole)
    killed_path, actual = checkpoint_values(killed)
    assert os.path.basename(whole_path) == os.path.basename(killed_path) == f"ckpt-{NUM_ITERATIONS}"
    assert set(actual) == set(expected)
    differing = [key for key in expected if not np.array_equal(actual[key], expected[key])]
    assert not differing, differing
    # D and G masks kept changing after the kill point, and the final state holds them.
    changes = "d_controller/num_changes/.ATTRIBUTES/VARIABLE_VALUE"
    assert int(value_ending(expected, changes)) > int(value_ending(at_kill, changes))
    assert float(value_ending(expected, "d_controller/density/.ATTRIBUTES/VARIABLE_VALUE")) == 0.5
    with open(os.path.join(whole, "run_summary.json")) as a, \
            open(os.path.join(killed, "run_summary.json")) as b:
        assert json.load(a) == json.load(b)


def test_checkpoints_and_samples_stay_bounded(runs):
    for model_dir in runs[:2]:
        indexes = glob.glob(os.path.join(model_dir, "checkpoints", "ckpt-*.index"))
        assert len(indexes) == KEEP_CHECKPOINTS
        samples = sorted(os.listdir(os.path.join(model_dir, "samples")))
        assert samples == ["iter_0000039.png", "iter_0000040.png", "latest.png"]
    assert not [name for name in os.listdir(runs[0]) if ".tmp" in name]


@pytest.fixture
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def make_trainer(model_dir, num_iterations):
    from ddst_tf.training.trainer import GANTrainer
    gin.clear_config()
    config.parse([CONFIG], [f"GANTrainer.num_iterations = {num_iterations}",
                               "GANTrainer.checkpoint_every = 2"])
    return GANTrainer(model_dir=str(model_dir))


def test_a_save_killed_midway_leaves_the_previous_checkpoint_latest(tmp_path, clean_gin):
    make_trainer(tmp_path, 4).train()
    checkpoints = tmp_path / "checkpoints"
    # What a kill during the save of ckpt-6 leaves: TF's temporary shard folder and part of
    # the merged data file, but no index and no state-file entry (the state file is last).
    (checkpoints / "ckpt-6_temp").mkdir()
    (checkpoints / "ckpt-6_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(
        b"\x00" * 100)
    (checkpoints / "ckpt-6.data-00000-of-00001").write_bytes(b"\x13" * 100)
    resumed = make_trainer(tmp_path, 6)
    assert resumed.restore_or_initialize().endswith("ckpt-4")
    assert int(resumed.state.iteration.numpy()) == 4
    resumed.train()
    final = make_trainer(tmp_path, 6)
    assert final.restore_or_initialize().endswith("ckpt-6")
    assert int(final.state.iteration.numpy()) == 6
