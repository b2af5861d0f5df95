"""Checkpoints of the whole training state, kept bounded and written atomically.

``tf.train.CheckpointManager`` writes a checkpoint's data files first and
replaces the small ``checkpoint`` state file (atomically, by rename) last, so a
process killed during a save leaves the previous checkpoint as the latest one.
"""

import tensorflow as tf


class TrainingCheckpoint:
    """A tf.train.Checkpoint of named trackables plus its bounded manager."""

    def __init__(self, directory, max_to_keep=3, **trackables):
        if max_to_keep is None or max_to_keep < 1:
            raise ValueError(f"max_to_keep must be a positive integer; got {max_to_keep!r}")
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, directory=directory, max_to_keep=max_to_keep)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def restore_latest(self):
        """Restore the latest checkpoint if there is one; returns its path or None."""
        path = self.manager.latest_checkpoint
        if path is None:
            return None
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as error:
            raise RuntimeError(
                f"Cannot restore checkpoint {path}: {error}. The model_dir holds a "
                f"checkpoint that is corrupted or was written by a different model or "
                f"config; use a fresh --model_dir or the config the run was started "
                f"with.") from error
        return path

    def save(self, step):
        return self.manager.save(checkpoint_number=step)
