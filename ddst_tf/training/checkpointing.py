"""Checkpoints of the whole training state, kept bounded, written atomically, by the chief.

``tf.train.CheckpointManager`` writes a checkpoint's data files first and
replaces the small ``checkpoint`` state file (atomically, by rename) last, so a
process killed during a save leaves the previous checkpoint as the latest one
(stray files of the unfinished save are ignored and overwritten by the next save
of that number). A listed checkpoint whose files were deleted is skipped in
favour of the newest older one that exists; a listed checkpoint that exists but
cannot be read raises :class:`CheckpointRestoreError` naming its files.
Under a multi-worker strategy every worker saves (a save may need collective
reads), but only the chief writes to ``directory``: the others write to a
temporary directory and delete it at once (TF's multi-worker checkpoint rule).
Every worker restores from ``directory``, so it must be on storage all workers
see. Variables are saved by value, not per replica, so a checkpoint restores
under any strategy and any number of replicas.
"""

import tensorflow as tf
from absl import logging

from ddst_tf import validation
from ddst_tf.training import strategies


# What reading a corrupted or mismatched checkpoint raises (a truncated data file: IndexError).
_RESTORE_ERRORS = (tf.errors.OpError, AssertionError, ValueError, IndexError, KeyError)


class CheckpointRestoreError(RuntimeError):
    """A listed checkpoint cannot be restored (corrupted, or from another model/config)."""


def _exists(prefix):
    return tf.io.gfile.exists(prefix + ".index")


class TrainingCheckpoint:
    """A tf.train.Checkpoint of named trackables plus its bounded manager."""

    def __init__(self, directory, max_to_keep=3, strategy=None, **trackables):
        validation.positive_int("max_to_keep", max_to_keep)
        strategy = strategy or tf.distribute.get_strategy()
        self.directory = directory
        self.is_chief = strategies.is_chief(strategy)
        self.write_directory = strategies.write_dir(directory, strategy)
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, directory=self.write_directory, max_to_keep=max_to_keep)

    def listed(self):
        """Checkpoint prefixes the state file lists, oldest first (empty without a state file)."""
        state = tf.train.get_checkpoint_state(self.directory)
        if state is None:
            return []
        paths = list(state.all_model_checkpoint_paths)
        if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        return paths

    @property
    def latest(self):
        """The newest listed checkpoint whose files exist (what every worker restores), or None."""
        existing = [path for path in self.listed() if _exists(path)]
        return existing[-1] if existing else None

    def restore_latest(self):
        """Restore the latest usable checkpoint if there is one; returns its path or None."""
        listed = self.listed()
        existing = [path for path in listed if _exists(path)]
        if listed and not existing:
            raise CheckpointRestoreError(
                f"The state file {self.directory}/checkpoint lists checkpoints {listed}, but "
                f"none of their files exist. Delete the state file to start afresh, or use a "
                f"fresh --model_dir.")
        if not existing:
            return None
        path = existing[-1]
        if path != listed[-1]:
            logging.warning("Checkpoint %s has no files; resuming from %s instead", listed[-1],
                            path)
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except _RESTORE_ERRORS as error:
            older = existing[:-1]
            fallback = (f"delete its files ({path}.index, {path}.data-*) to resume from the "
                        f"previous checkpoint {older[-1]}" if older else
                        f"delete its files ({path}.index, {path}.data-*)")
            raise CheckpointRestoreError(
                f"Cannot restore checkpoint {path}: {error}. The checkpoint file is corrupted, "
                f"or was written by a different model or config. Resume with the config the "
                f"run was started with, {fallback}, or use a fresh --model_dir.") from error
        return path

    def save(self, step):
        """Save at ``step`` (call on every worker); returns its path, None off the chief."""
        path = self.manager.save(checkpoint_number=step)
        if not self.is_chief:
            tf.io.gfile.rmtree(self.write_directory)
            return None
        return path
