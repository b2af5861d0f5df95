"""tools/compare_checkpoints.py: tensors matched by content whatever their names."""

import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "compare_checkpoints", os.path.join(ROOT, "tools", "compare_checkpoints.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _save(path, **values):
    variables = {name: tf.Variable(value) for name, value in values.items()}
    return tf.train.Checkpoint(**variables).write(str(path))


def _compare(tool, old, new, capsys):
    tool.FLAGS(["compare_checkpoints", f"--old={old}", f"--new={new}"])
    status = tool.main([])
    return status, capsys.readouterr().out


def test_renamed_and_regrouped_tensors_are_the_same_state(tool, tmp_path, capsys):
    kernel = np.arange(6, dtype=np.float32).reshape(2, 3)
    old = _save(tmp_path / "old", kernel=kernel, step=np.int64(7))
    new = _save(tmp_path / "new", g_kernel=kernel, iteration=np.int64(7), extra=np.float32(1.0))
    status, out = _compare(tool, old, new, capsys)
    assert status == 0
    # Checkpoint.write stores no save counter: kernel and step, 2 of 2; the new one adds `extra`.
    assert "2 of 2 tensors of --old are bit-identical in --new (3 tensors)" in out
    assert "only in --new: ['extra/.ATTRIBUTES/VARIABLE_VALUE']" in out


def test_one_changed_bit_or_dtype_is_named(tool, tmp_path, capsys):
    kernel = np.ones((2, 2), np.float32)
    changed = kernel.copy()
    changed.view(np.int32)[0, 0] ^= 1  # one bit of one float
    old = _save(tmp_path / "old", kernel=kernel, step=np.int64(1))
    new = _save(tmp_path / "new", kernel=changed, step=np.int32(1))
    status, out = _compare(tool, old, new, capsys)
    assert status == 1
    assert "0 of 2 tensors" in out
    assert "only in --old: ['kernel/.ATTRIBUTES/VARIABLE_VALUE', 'step/.ATTRIBUTES/VARIABLE_VALUE']" in out
