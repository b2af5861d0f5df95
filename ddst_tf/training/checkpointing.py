"""Checkpoints of the whole training state, kept bounded, written atomically, by the chief.

``tf.train.CheckpointManager`` writes a checkpoint's data files first and
replaces the small ``checkpoint`` state file (atomically, by rename) last, so a
process killed during a save leaves the previous checkpoint as the latest one.
Under a multi-worker strategy every worker saves (a save may need collective
reads), but only the chief writes to ``directory``: the others write to a
temporary directory and delete it at once (TF's multi-worker checkpoint rule).
Every worker restores from ``directory``, so it must be on storage all workers
see. Variables are saved by value, not per replica, so a checkpoint restores
under any strategy and any number of replicas.
"""

import tensorflow as tf

from ddst_tf.training import strategies


class TrainingCheckpoint:
    """A tf.train.Checkpoint of named trackables plus its bounded manager."""

    def __init__(self, directory, max_to_keep=3, strategy=None, **trackables):
        if max_to_keep is None or max_to_keep < 1:
            raise ValueError(f"max_to_keep must be a positive integer; got {max_to_keep!r}")
        strategy = strategy or tf.distribute.get_strategy()
        self.directory = directory
        self.is_chief = strategies.is_chief(strategy)
        self.write_directory = strategies.write_dir(directory, strategy)
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, directory=self.write_directory, max_to_keep=max_to_keep)

    @property
    def latest(self):
        """The chief's latest checkpoint (the one every worker restores), or None."""
        return tf.train.latest_checkpoint(self.directory)

    def restore_latest(self):
        """Restore the latest checkpoint if there is one; returns its path or None."""
        path = self.latest
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
        """Save at ``step`` (call on every worker); returns its path, None off the chief."""
        path = self.manager.save(checkpoint_number=step)
        if not self.is_chief:
            tf.io.gfile.rmtree(self.write_directory)
            return None
        return path
