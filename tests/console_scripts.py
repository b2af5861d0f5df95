"""Run the installed console scripts (ddst-train, ddst-export, ddst-eval) from the tests."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
DIGITS_CONFIG = os.path.join(ROOT, "gin_configs", "digits_test.gin")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def console_script(name, *args, check=True, timeout=300):
    """The finished process of ``<venv>/bin/<name> args``; asserts success when ``check``."""
    result = subprocess.run([os.path.join(BIN, name), *args], capture_output=True, text=True,
                            timeout=timeout, env=ENV, cwd=ROOT)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def train_digits(model_dir, *args, check=True):
    """ddst-train on gin_configs/digits_test.gin (4 iterations of a tiny static DCGAN)."""
    return console_script("ddst-train", f"--gin_file={DIGITS_CONFIG}",
                          f"--model_dir={model_dir}", *args, check=check)
