"""TensorFlow's native start-up lines, muted for ddst_tf's command-line tools.

Since TF 2.19, ``TF_CPP_MIN_LOG_LEVEL`` no longer silences what TF's C++ code logs before absl
logging is initialised: ``WARNING: All log messages before absl::InitializeLog() ...`` and
oneDNN's ``I... port.cc] oneDNN custom operations are on ...``, at import and again when TF's
context starts. The console scripts (``ddst-*``) import TensorFlow and start its context with
file descriptor 2 pointed at /dev/null; Python exceptions still surface (after the fd is back).
``DDST_TF_STARTUP_LOGS=1`` keeps those lines (e.g. to see CUDA driver messages).
"""

import contextlib
import os
import sys

SHOW_ENV = "DDST_TF_STARTUP_LOGS"


def wanted():
    """Whether this process is one of ddst_tf's command-line tools that mute the lines."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return program.startswith("ddst-") and not os.environ.get(SHOW_ENV)


@contextlib.contextmanager
def muted_native_stderr(active=True):
    """Point fd 2 at /dev/null for the block (no-op unless ``active``)."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def start_tensorflow_context():
    """Start TF's eager context now (devices configured), its start-up lines muted for the tools."""
    import tensorflow as tf
    with muted_native_stderr(wanted()):
        tf.config.list_logical_devices()
