"""Compare the tensors of two checkpoints by content, whatever their names.

    .venv/bin/python tools/compare_checkpoints.py --old=runs/a/checkpoints/ckpt-21 \
        --new=runs/b/checkpoints/ckpt-21

A refactoring that renames or regroups checkpointed objects changes the variable names but
must not change a fixed-seed run's values: this prints how many tensors of ``--old`` appear
bit-for-bit (sha256 of dtype, shape and bytes) in ``--new`` and names those that do not; it
exits 1 if any tensor of ``--old`` is missing from ``--new``.
"""

import collections
import hashlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("old", None, "Checkpoint prefix (e.g. <model_dir>/checkpoints/ckpt-21).",
                    required=True)
flags.DEFINE_string("new", None, "Checkpoint prefix to compare with --old.", required=True)


def tensor_digests(prefix):
    """{variable name: digest of its dtype, shape and bytes} of the checkpoint's numeric tensors."""
    reader = tf.train.load_checkpoint(prefix)
    found = {}
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, bytes) or value.dtype == object:
            continue
        found[name] = hashlib.sha256(
            f"{value.dtype}{value.shape}".encode() + value.tobytes()).hexdigest()
    return found


def main(argv):
    del argv
    old, new = tensor_digests(FLAGS.old), tensor_digests(FLAGS.new)
    unmatched = collections.Counter(new.values())
    missing = []
    for name, digest in sorted(old.items()):
        if unmatched[digest] > 0:
            unmatched[digest] -= 1
        else:
            missing.append(name)
    extra = sorted(name for name, digest in new.items() if unmatched[digest] > 0)
    print(f"{len(old) - len(missing)} of {len(old)} tensors of --old are bit-identical in --new "
          f"({len(new)} tensors)")
    print(f"only in --old: {missing or 'none'}")
    print(f"only in --new: {extra or 'none'}")
    return 1 if missing else 0


if __name__ == "__main__":
    app.run(main)
