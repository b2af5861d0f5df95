"""Checkpoints of the whole training state, kept bounded, written atomically, recovered safely.

``tf.train.CheckpointManager`` writes a checkpoint's data files first and replaces the small
``checkpoint`` state file (atomically, by rename) last, so a process killed during a save
leaves the previous checkpoint as the latest one. A checkpoint is *complete* when its
``.index`` and all its ``.data-XXXXX-of-NNNNN`` shards exist.

Recovery never restarts silently: the latest listed complete checkpoint is restored; with the
state file missing or unreadable, the newest complete ``ckpt-*`` on disk is (and the state
file is rewritten); a run directory whose checkpoint files are all incomplete stops with an
error naming them. Starting afresh over existing checkpoints needs ``fresh_start``, which
moves them aside (nothing is deleted). A checkpoint that exists but cannot be read raises
:class:`CheckpointRestoreError` naming its files and the way out.

Under a multi-worker strategy every worker saves (a save may need collective reads), but only
the chief writes to ``directory``: the others write to a temporary directory and delete it at
once (TF's multi-worker checkpoint rule). Variables are saved by value, not per replica, so a
checkpoint restores under any strategy and any number of replicas.
"""

import glob
import os
import re
import time

import tensorflow as tf
from absl import logging
from google.protobuf import text_format

from ddst_tf import validation
from ddst_tf.training import strategies

# What reading a corrupted or mismatched checkpoint raises (a truncated data file: IndexError).
RESTORE_ERRORS = (tf.errors.OpError, AssertionError, ValueError, IndexError, KeyError)
# What parsing a garbled state file raises (binary bytes, broken text proto).
_UNREADABLE_STATE = (UnicodeDecodeError, tf.errors.OpError, ValueError, text_format.ParseError)
_DATA_SHARD = re.compile(r"\.data-(\d+)-of-(\d+)$")
_NUMBERED = re.compile(r"^ckpt-(\d+)\.index$")


class CheckpointRestoreError(RuntimeError):
    """A run's checkpoints cannot be restored (corrupted, incomplete, another model/config)."""


def is_complete(prefix):
    """Whether checkpoint ``prefix`` has its index and every data shard."""
    if not os.path.isfile(prefix + ".index"):
        return False
    shards = [_DATA_SHARD.search(path) for path in glob.glob(glob.escape(prefix) + ".data-*")]
    counts = {int(match.group(2)) for match in shards if match}
    if len(counts) != 1:
        return False
    (count,) = counts
    return {int(match.group(1)) for match in shards if match} == set(range(count))


def numbered_on_disk(directory):
    """Prefixes of the ``ckpt-<N>`` checkpoints with an index in ``directory``, oldest first."""
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        match = _NUMBERED.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name[:-len(".index")])))
    return [prefix for _, prefix in sorted(found)]


def listed_in_state_file(directory):
    """(prefixes the state file lists, oldest first; None if the file is missing or unreadable)."""
    path = os.path.join(directory, "checkpoint")
    if not os.path.isfile(path):
        return None
    try:
        state = tf.train.get_checkpoint_state(directory)
    except _UNREADABLE_STATE as error:
        logging.warning("The checkpoint state file %s is unreadable (%s); looking for the "
                        "newest complete checkpoint on disk instead", path,
                        str(error).splitlines()[0])
        return None
    if state is None:
        return None
    # TensorFlow has already put the directory in front of relative entries.
    paths = list(state.all_model_checkpoint_paths)
    latest = state.model_checkpoint_path
    if latest and latest not in paths:
        paths.append(latest)
    return paths


def newest_complete(directory):
    """The newest complete checkpoint the state file lists (all of them on disk, without a
    readable state file), or None."""
    listed = listed_in_state_file(directory)
    candidates = numbered_on_disk(directory) if listed is None else listed
    complete = [path for path in candidates if is_complete(path)]
    return complete[-1] if complete else None


def restore_error(path, error, older=None):
    """The CheckpointRestoreError for checkpoint ``path`` that failed to load with ``error``."""
    fallback = (f"delete its files ({path}.index, {path}.data-*) to use the previous "
                f"checkpoint {older}" if older else f"delete its files ({path}.index, "
                                                    f"{path}.data-*)")
    return CheckpointRestoreError(
        f"Cannot restore checkpoint {path}: {str(error).splitlines()[0]}. The file is "
        f"corrupted, or was written by a different model or config. Use the config the run "
        f"was started with, {fallback}, or use a fresh --model_dir.")


def checkpoint_fingerprint(prefix):
    """The config fingerprint checkpoint ``prefix`` recorded, or None (none, or an older
    checkpoint without one)."""
    if prefix is None:
        return None
    from ddst_tf.stored_config import fingerprint_hex
    try:
        words = tf.train.load_checkpoint(prefix).get_tensor(
            "config_fingerprint/.ATTRIBUTES/VARIABLE_VALUE")
    except (tf.errors.OpError, ValueError, KeyError):
        return None
    return fingerprint_hex(words) or None


class TrainingCheckpoint:
    """A tf.train.Checkpoint of named trackables plus its bounded manager."""

    def __init__(self, directory, max_to_keep=3, strategy=None, **trackables):
        validation.positive_int("max_to_keep", max_to_keep)
        strategy = strategy or tf.distribute.get_strategy()
        self.directory = directory
        self.max_to_keep = max_to_keep
        self.is_chief = strategies.is_chief(strategy)
        self.write_directory = strategies.write_dir(directory, strategy)
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self._set_aside_unreadable_state_file()
        self.manager = self._new_manager()

    def _set_aside_unreadable_state_file(self):
        """Rename a garbled state file (``checkpoint.unreadable-<time>``): CheckpointManager cannot
        start over it, and restore_latest recovers from the checkpoint files themselves."""
        if not self.is_chief or listed_in_state_file(self.directory) is not None:
            return
        path = os.path.join(self.directory, "checkpoint")
        if os.path.isfile(path):
            target = f"{path}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(path, target)
            logging.warning("Set the unreadable checkpoint state file aside as %s", target)

    def _new_manager(self):
        return tf.train.CheckpointManager(self.checkpoint, directory=self.write_directory,
                                          max_to_keep=self.max_to_keep)

    @property
    def latest(self):
        """The checkpoint a restore would read (newest complete), or None."""
        return newest_complete(self.directory)

    def restore_latest(self, fresh_start=False):
        """Restore the newest complete checkpoint; returns its path, or None for a fresh run.

        ``fresh_start`` moves existing checkpoint files aside (to ``<dir>.replaced-<time>``)
        and starts over; without it, checkpoint files that cannot be resumed are an error.
        """
        on_disk = numbered_on_disk(self.directory)
        if fresh_start:
            self._move_aside(on_disk)
            return None
        listed = listed_in_state_file(self.directory)
        candidates = on_disk if listed is None else listed
        complete = [path for path in candidates if is_complete(path)]
        if not complete:
            leftovers = sorted(os.path.basename(path) for path in
                               glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*")))
            if leftovers or listed:
                state = (f"; its state file lists {[os.path.basename(p) for p in listed]}"
                         if listed else "")
                raise CheckpointRestoreError(
                    f"{self.directory} has no complete checkpoint (files: "
                    f"{', '.join(leftovers) or 'none'}{state}). Restore the missing files, start "
                    f"over with --fresh_start (which moves them to "
                    f"{os.path.normpath(self.directory)}.replaced-<time>), or use a fresh "
                    f"--model_dir")
            return None
        path = complete[-1]
        if listed is None:
            logging.warning("No readable state file in %s: resuming from the newest complete "
                            "checkpoint on disk, %s", self.directory, os.path.basename(path))
            self._rewrite_state_file(complete)
        elif path != listed[-1]:
            logging.warning("Checkpoint %s is incomplete; resuming from %s instead", listed[-1],
                            path)
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except RESTORE_ERRORS as error:
            raise restore_error(path, error, complete[-2] if len(complete) > 1 else None
                                ) from error
        return path

    def save(self, step):
        """Save at ``step`` (call on every worker); returns its path, None off the chief."""
        path = self.manager.save(checkpoint_number=step)
        if not self.is_chief:
            tf.io.gfile.rmtree(self.write_directory)
            return None
        return path

    def _rewrite_state_file(self, complete):
        if not self.is_chief:
            return
        kept = complete[-self.max_to_keep:]
        tf.compat.v1.train.update_checkpoint_state(self.directory, kept[-1],
                                                   all_model_checkpoint_paths=kept)
        self.manager = self._new_manager()

    def _move_aside(self, on_disk):
        leftovers = glob.glob(os.path.join(glob.escape(self.directory), "*"))
        if not leftovers or not self.is_chief:
            return
        target = f"{os.path.normpath(self.directory)}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        os.rename(self.directory, target)
        logging.warning("--fresh_start: moved the existing checkpoints (%d) of %s to %s",
                        len(on_disk), self.directory, target)
        self.manager = self._new_manager()
