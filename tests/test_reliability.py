"""Never lose a run: checkpoint recovery, one writer per run, leftovers, config changes honoured
or refused, divergence, and export/retention that touch only what they created.

Each test reproduces a failure found by an adversarial probe of the earlier version (see the
README's "Reliability" section) on a copy of one short digits run.
"""

import glob
import os
import re
import shutil
import subprocess
import time

import gin
import numpy as np
import pytest
import tensorflow as tf

from console_scripts import BIN, DIGITS_CONFIG, ENV, ROOT, console_script, train_digits
from ddst_tf import config, stored_config
from ddst_tf.cli.entry import USER_ERRORS, one_line
from ddst_tf.training.checkpointing import CheckpointRestoreError, is_complete

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def make_trainer(model_dir, *bindings, **kwargs):
    from ddst_tf.training.trainer import GANTrainer
    gin.clear_config()
    config.parse([DIGITS_CONFIG], list(bindings))
    return GANTrainer(model_dir=str(model_dir), **kwargs)


@pytest.fixture(scope="module")
def trained(digits_run):
    """A 4-iteration digits run (ckpt-2, ckpt-4) made by ddst-train (tests change copies)."""
    return digits_run[0]


def _iteration_after_resume(model_dir, *bindings, **kwargs):
    trainer = make_trainer(model_dir, *bindings, **kwargs)
    trainer.train()
    return trainer


# ------------------------------------------------------------------ checkpoint recovery

@pytest.mark.parametrize("damage", ["missing", "garbage", "binary"])
def test_a_lost_or_garbled_state_file_resumes_from_the_newest_complete_checkpoint(run_copy,
                                                                                 damage):
    state = run_copy / "checkpoints" / "checkpoint"
    if damage == "missing":
        state.unlink()
    elif damage == "garbage":
        state.write_text("model_checkpoint_path: {{{ not a proto")
    else:
        state.write_bytes(bytes(range(256)))
    trainer = make_trainer(run_copy, "GANTrainer.num_iterations = 6")
    assert trainer.restore_or_initialize().endswith("ckpt-4")
    assert int(trainer.state.iteration.numpy()) == 4
    trainer.train()
    assert tf.train.latest_checkpoint(str(run_copy / "checkpoints")).endswith("ckpt-6")


def test_only_incomplete_checkpoints_stop_with_the_files_named_and_fresh_start_keeps_them(
        run_copy):
    for path in glob.glob(str(run_copy / "checkpoints" / "ckpt-*.data-*")):
        os.remove(path)
    (run_copy / "checkpoints" / "checkpoint").unlink()
    with pytest.raises(CheckpointRestoreError, match=r"no complete checkpoint \(files: "
                                                     r"ckpt-2.index, ckpt-4.index\).*--fresh_start"):
        make_trainer(run_copy).train()
    trainer = make_trainer(run_copy, fresh_start=True)
    trainer.train()
    assert int(trainer.state.iteration.numpy()) == 4  # trained from scratch
    (aside,) = glob.glob(str(run_copy / "checkpoints.replaced-*"))
    assert sorted(os.listdir(aside)) == ["ckpt-2.index", "ckpt-4.index"]


def test_ddst_train_never_silently_restarts_over_checkpoints(run_copy):
    (run_copy / "checkpoints" / "checkpoint").write_text("garbage")
    for path in glob.glob(str(run_copy / "checkpoints" / "ckpt-*.data-*")):
        os.remove(path)
    result = train_digits(str(run_copy), check=False)
    assert result.returncode != 0
    assert "no complete checkpoint" in result.stderr.strip().splitlines()[-1]
    assert is_complete(str(run_copy / "checkpoints" / "ckpt-4")) is False
    names = sorted(os.listdir(run_copy / "checkpoints"))  # nothing deleted or overwritten
    assert names[0].startswith("checkpoint.unreadable-") and names[1:] == ["ckpt-2.index",
                                                                            "ckpt-4.index"]


def test_export_and_eval_read_checkpoints_like_training(run_copy, tmp_path):
    (run_copy / "checkpoints" / "checkpoint").unlink()
    output = tmp_path / "saved_model"
    console_script("ddst-export", f"--model_dir={run_copy}", f"--output={output}")
    assert (output / "saved_model.pb").is_file()
    data = run_copy / "checkpoints" / "ckpt-4.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    result = console_script("ddst-export", f"--model_dir={run_copy}",
                            f"--output={tmp_path / 'second'}", check=False)
    assert result.returncode != 0
    assert f"Cannot restore checkpoint {run_copy / 'checkpoints' / 'ckpt-4'}" in result.stderr


# ------------------------------------------------------------------ one writer per run

def test_a_second_writer_is_refused_naming_the_first(run_copy):
    # The first writer would train for hours: it still holds the lock whenever the second
    # starts, however slow the machine (it is killed below).
    first = subprocess.Popen(
        [os.path.join(BIN, "ddst-train"), f"--gin_file={DIGITS_CONFIG}",
         f"--model_dir={run_copy}", "--gin_bindings=GANTrainer.num_iterations = 1000000",
         "--gin_bindings=GANTrainer.checkpoint_every = 400"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not _read_lock(run_copy).startswith(f"pid {first.pid} "):
            assert first.poll() is None and time.monotonic() < deadline, "no lock taken"
            time.sleep(0.2)
        second = train_digits(str(run_copy), "--gin_bindings=GANTrainer.num_iterations = 1000000",
                              "--gin_bindings=GANTrainer.checkpoint_every = 400", check=False)
        assert second.returncode != 0
        assert (f"is being written by another process (pid {first.pid} on"
                in second.stderr.strip().splitlines()[-1])
    finally:
        first.kill()
        first.wait()
    # The killed writer's lock went with it: the run resumes.
    assert train_digits(str(run_copy), "--gin_bindings=GANTrainer.num_iterations = 6").returncode == 0


def _read_lock(run_dir):
    path = run_dir / ".lock"
    return path.read_text() if path.exists() else ""


# ------------------------------------------------------------------ leftovers

def test_leftovers_of_killed_writes_are_removed_at_start(run_copy):
    leftovers = [run_copy / "checkpoints" / "ckpt-6_temp",
                 run_copy / ".config.gin.ab12cd.partial.gin",
                 run_copy / "samples" / ".iter_0000006.png.x1y2.partial.png",
                 run_copy / ".best.partial-q8w7"]
    for path in leftovers:
        if path.suffix in (".gin", ".png"):
            path.write_text("half")
        else:
            path.mkdir()
            (path / "part").write_text("half")
    mine = run_copy / "samples" / "notes.partial.txt"  # not a temp name of ours
    mine.write_text("keep")
    _iteration_after_resume(run_copy, "GANTrainer.num_iterations = 6")
    assert not any(path.exists() for path in leftovers)
    assert mine.read_text() == "keep"


# ------------------------------------------------------------------ config changes

def test_an_allowed_learning_rate_change_takes_effect_after_resume(run_copy):
    with pytest.raises(stored_config.ConfigMismatchError, match="d_learning_rate"):
        make_trainer(run_copy, "GANTrainer.d_learning_rate = 5e-5").train()
    trainer = _iteration_after_resume(run_copy, "GANTrainer.d_learning_rate = 5e-5",
                                      "GANTrainer.num_iterations = 6", allow_config_change=True)
    assert float(trainer.state.d_optimizer.learning_rate.numpy()) == pytest.approx(5e-5)
    reader = tf.train.load_checkpoint(str(run_copy / "checkpoints" / "ckpt-6"))
    names = [name for name in reader.get_variable_to_shape_map()
             if name.startswith("d_optimizer/") and "learning_rate" in name]
    assert names and reader.get_tensor(names[0]) == pytest.approx(5e-5)
    assert "GANTrainer.d_learning_rate = 5e-05" in (run_copy / "config.gin").read_text()


def test_a_deleted_config_gin_does_not_let_a_change_through(run_copy):
    (run_copy / "config.gin").unlink()
    with pytest.raises(stored_config.ConfigMismatchError,
                       match="config.gin is missing, and the run's checkpoint was written with a "
                             "different configuration"):
        make_trainer(run_copy, "GANTrainer.n_critic = 3").train()
    _iteration_after_resume(run_copy, "GANTrainer.num_iterations = 6")  # same config resumes
    assert (run_copy / "config.gin").is_file()


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"GANTrainer.model = ('unclosed"])
def test_a_corrupt_config_gin_is_named(run_copy, content):
    (run_copy / "config.gin").write_bytes(content)
    with pytest.raises(stored_config.ConfigMismatchError,
                       match=f"{run_copy / 'config.gin'} is not a readable gin config"):
        make_trainer(run_copy).train()


# ------------------------------------------------------------------ divergence and input

def test_a_diverging_run_is_flagged_and_can_be_stopped(tmp_path, caplog):
    from ddst_tf.training.divergence import DivergenceError, DivergenceWatch
    watch = DivergenceWatch(policy="warn", loss_limit=10.0, br_limit=5.0, patience=3)
    for iteration, loss in enumerate([1.0, 50.0, 60.0, 70.0, 80.0], 1):
        watch.observe(iteration, loss, 0.5)
    assert "Diverging at iteration 4: D loss 70 for 3 iterations" in caplog.text
    watch.observe(6, 1.0, 0.5, br=0.4)
    assert watch.streak == 0
    stop = DivergenceWatch(policy="stop", loss_limit=10.0, br_limit=5.0, patience=2)
    stop.observe(1, 1.0, 1.0, br=9.0)
    with pytest.raises(DivergenceError, match="BR 9 for 2 iterations"):
        stop.observe(2, 1.0, 1.0, br=9.0)
    with pytest.raises(ValueError, match="GANTrainer.divergence_policy must be one of"):
        DivergenceWatch(policy="ignore")


def test_huge_learning_rates_diverge_with_finite_losses_and_the_run_stops(tmp_path):
    result = train_digits(str(tmp_path / "run"), "--gin_bindings=GANTrainer.g_learning_rate = 3e4",
                          "--gin_bindings=GANTrainer.d_learning_rate = 3e4",
                          "--gin_bindings=GANTrainer.num_iterations = 30",
                          "--gin_bindings=GANTrainer.divergence_policy = 'stop'",
                          "--gin_bindings=GANTrainer.divergence_patience = 5",
                          "--gin_bindings=GANTrainer.nan_policy = 'stop'", check=False)
    assert result.returncode != 0
    assert ("Diverging at iteration" in result.stderr or "Non-finite" in result.stderr), \
        result.stderr[-2000:]


@pytest.mark.parametrize("binding,message", [
    ("GANTrainer.num_iterations 5", r"--gin_bindings 'GANTrainer.num_iterations 5' is not a "
                                    r"binding: write NAME = VALUE"),
    ("GANTrainer.num_iterations = 5.5", r"GANTrainer.num_iterations must be an integer; got 5.5"),
    ("GANTrainer.seed = -1", r"GANTrainer.seed must be an integer >= 0; got -1"),
    ("GANTrainer.keep_checkpoints = 0", r"GANTrainer.keep_checkpoints must be a positive integer"),
])
def test_bad_settings_are_one_line_errors_naming_the_binding(tmp_path, binding, message):
    # What ddst-train does with the bindings, in this process: the error is one a user can
    # cause, so ddst-train prints its first line (test_package checks that step end to end).
    from ddst_tf.training.trainer import GANTrainer
    with pytest.raises(USER_ERRORS) as raised:
        config.parse([DIGITS_CONFIG], [binding])
        GANTrainer(model_dir=str(tmp_path / "run"))
    assert re.search(message, one_line(raised.value))
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_a_corrupt_image_is_named(tmp_path):
    from PIL import Image

    from ddst_tf.data.image_folder import load_image_folder
    folder = tmp_path / "images" / "cls"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / "good.png")
    (folder / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ValueError, match=r"cannot decode image cls/bad.png in .*images"):
        load_image_folder(str(tmp_path / "images"))


def test_fid_refuses_fewer_samples_than_feature_dimensions():
    from ddst_tf.eval import evaluate
    real = {"pool": np.random.default_rng(0).normal(size=(50, 8))}
    with pytest.raises(ValueError, match=r"FID needs more samples than its 8 feature "
                                         r"dimensions .* got 8 generated"):
        evaluate.compute_metrics(real, {"pool": real["pool"][:8]}, ["fid"])
    assert evaluate.compute_metrics(real, {"pool": real["pool"][:9]}, ["fid"])["fid"] >= 0


# ------------------------------------------------------------------ only what we created

def test_export_leaves_existing_temp_folders_and_symlinked_targets_alone(run_copy, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("mine")
    os.symlink(precious, tmp_path / "saved_model.tmp")
    output = tmp_path / "saved_model"
    console_script("ddst-export", f"--model_dir={run_copy}", f"--output={output}")
    assert (precious / "data.txt").read_text() == "mine"
    assert os.path.islink(tmp_path / "saved_model.tmp")
    assert not glob.glob(str(tmp_path / ".saved_model.*"))


def test_sample_retention_does_not_follow_a_symlink_out_of_the_run(run_copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(str(run_copy / "samples"), outside)
    for index in range(1, 4):
        (outside / f"iter_000000{index}.png").write_bytes(b"someone else's")
    os.symlink(outside, run_copy / "samples")
    _iteration_after_resume(run_copy, "GANTrainer.num_iterations = 6",
                            "GANTrainer.keep_samples = 1")
    assert all((outside / f"iter_000000{index}.png").exists() for index in range(1, 4))
