"""Test settings shared by every test module: quiet TF, deterministic ops, no network, seeds.

Every test starts from the same global seeds (Python, NumPy, TensorFlow and Keras), taken
from pytest-randomly's ``--randomly-seed`` (pinned in pytest.ini, so the default run is
reproducible). ``tools/check_test_determinism.sh`` runs the suite under other seeds and
shuffled orders: a test whose outcome changes with them depends on luck and is a defect.
"""

import fcntl
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.experimental.enable_op_determinism()

# Without pytest-randomly installed every test still starts from this seed.
DEFAULT_SEED = 0


@pytest.fixture(autouse=True)
def _global_seeds(request):
    """Seed Python, NumPy, TensorFlow and Keras before each test."""
    seed = getattr(request.config.option, "randomly_seed", DEFAULT_SEED)
    keras.utils.set_random_seed(int(seed) % 2 ** 32 if isinstance(seed, int) else DEFAULT_SEED)


@pytest.fixture
def run_copy(trained, tmp_path):
    """A copy of the module's ``trained`` run (module fixture), for a test to change or damage."""
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """(run dir, stderr) of one ``ddst-train`` run of gin_configs/digits_test.gin (4 iterations,
    ckpt-2 and ckpt-4), trained once per pytest run and shared by its xdist workers (under a
    file lock in their common temp dir). Read-only: tests that change it use digits_run_copy."""
    from console_scripts import train_digits
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this session's workers' common folder
    run, log = shared / "digits_run" / "run", shared / "digits_run" / "stderr.txt"
    with open(shared / "digits_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not log.exists():
            stderr = train_digits(str(run)).stderr
            log.write_text(stderr)
    return run, log.read_text()


@pytest.fixture(scope="module")
def digits_run_copy(digits_run, tmp_path_factory):
    """The module's own copy of the shared digits run, for its tests to resume or damage."""
    copy = tmp_path_factory.mktemp("trained") / "run"
    shutil.copytree(digits_run[0], copy)
    return copy
