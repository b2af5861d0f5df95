"""Where the offline data files are: ``$DDST_DATA_DIR``, else the shared copy beside the repo.

The CIFAR-10 JPEG copy (``cifar10_jpg.zip``) and the SqueezeNet weights live in one folder: the
one ``DDST_DATA_DIR`` names (``ddst-train --data_dir`` sets it), else ``../shared/data`` next to
a source checkout of this repository. An installed package has no default: set the variable.
"""

import os

DATA_DIR_ENV = "DDST_DATA_DIR"
CIFAR10_JPEG_NAME = "cifar10_jpg.zip"
SQUEEZENET_WEIGHTS_NAME = "squeezenet_v1.1_imagenet_notop.h5"
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_REPO_SHARED_DATA = os.path.normpath(os.path.join(_SOURCE_ROOT, "..", "shared", "data"))


def set_data_dir(path):
    """Use ``path`` as the offline data folder in this process (and its subprocesses)."""
    os.environ[DATA_DIR_ENV] = os.path.abspath(path)


def data_dir():
    """The offline data folder: $DDST_DATA_DIR, else the repo's ../shared/data (may not exist)."""
    return os.environ.get(DATA_DIR_ENV) or _REPO_SHARED_DATA


def data_file(name):
    """The path of offline data file ``name`` (it may not exist)."""
    return os.path.join(data_dir(), name)


def cifar10_jpeg_zip():
    return data_file(CIFAR10_JPEG_NAME)


def squeezenet_weights():
    return data_file(SQUEEZENET_WEIGHTS_NAME)


def missing_file_hint(name):
    """How to point ddst_tf at ``name``."""
    return (f"put {name} in {data_dir()}, or point {DATA_DIR_ENV} (ddst-train/ddst-eval "
            f"--data_dir) at the folder that holds it")
