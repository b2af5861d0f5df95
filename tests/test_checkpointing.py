"""ddst_tf.training.checkpointing: which checkpoint is the newest complete one."""

import os

import pytest
import tensorflow as tf

from ddst_tf.training import checkpointing


def _save_three(directory):
    """ckpt-1..3 of one variable through a CheckpointManager (relative names in its state file)."""
    variable = tf.Variable(0.0)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=variable), str(directory),
                                         max_to_keep=5)
    for step in (1, 2, 3):
        variable.assign(float(step))
        manager.save(checkpoint_number=step)


@pytest.mark.parametrize("relative", [False, True])
def test_newest_complete_of_an_absolute_or_relative_directory(tmp_path, monkeypatch, relative):
    _save_three(tmp_path / "run" / "checkpoints")
    monkeypatch.chdir(tmp_path)
    directory = "run/checkpoints" if relative else str(tmp_path / "run" / "checkpoints")
    assert checkpointing.listed_in_state_file(directory) == [
        os.path.join(directory, f"ckpt-{step}") for step in (1, 2, 3)]
    assert checkpointing.newest_complete(directory) == os.path.join(directory, "ckpt-3")


def test_a_checkpoint_missing_its_data_shard_is_skipped(tmp_path):
    directory = tmp_path / "checkpoints"
    _save_three(directory)
    os.remove(directory / "ckpt-3.data-00000-of-00001")
    assert not checkpointing.is_complete(str(directory / "ckpt-3"))
    assert checkpointing.newest_complete(str(directory)) == str(directory / "ckpt-2")


def test_without_a_state_file_the_numbered_checkpoints_on_disk_count(tmp_path):
    directory = tmp_path / "checkpoints"
    _save_three(directory)
    os.remove(directory / "checkpoint")
    assert checkpointing.listed_in_state_file(str(directory)) is None
    assert checkpointing.newest_complete(str(directory)) == str(directory / "ckpt-3")
