"""ddst_tf.atomic_write: all or nothing, unique temporary names, errors that name the file."""

import errno
import os

import pytest

from ddst_tf import atomic_write


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / "sub" / "run.json"
    atomic_write.write_json(str(target), {"a": 1})
    atomic_write.write_text(str(target), "second")
    assert target.read_text() == "second"
    assert os.listdir(target.parent) == ["run.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "config.gin"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write.replacing(str(target)) as partial:
            with open(partial, "w") as handle:
                handle.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["config.gin"]


def test_temporary_names_are_unique_keep_the_suffix_and_are_recognisable(tmp_path):
    target = str(tmp_path / "iter_0000010.png")
    with atomic_write.replacing(target) as first, atomic_write.replacing(target) as second:
        assert first != second
        for partial in (first, second):
            name = os.path.basename(partial)
            assert name.endswith(".png") and atomic_write.is_partial(name)
            open(partial, "wb").close()
    assert not atomic_write.is_partial("iter_0000010.png")


def test_os_errors_name_the_target(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    target = str(tmp_path / "model.json")
    with pytest.raises(OSError, match=f"No space left on device while writing {target}"):
        atomic_write.write_text(target, "{}")
    assert os.listdir(tmp_path) == []
