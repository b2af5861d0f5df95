"""ddst_tf.run_dir: one place for the run layout, and model.json round trips."""

import pytest

from ddst_tf import run_dir
from ddst_tf.run_dir import RunDir


def test_paths_of_a_run(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.config == str(tmp_path / "r" / "config.gin")
    assert run.checkpoint_state == str(tmp_path / "r" / "checkpoints" / "checkpoint")
    assert run.sample(42) == str(tmp_path / "r" / "samples" / "iter_0000042.png")
    assert run.latest_sample.endswith("samples/latest.png")
    assert not run.has_checkpoint_state()
    assert run.make() is run and (tmp_path / "r").is_dir()
    (tmp_path / "r" / "checkpoints").mkdir()
    (tmp_path / "r" / "checkpoints" / "checkpoint").write_text("")
    assert run.has_checkpoint_state()


@pytest.mark.parametrize("bad", ["", None, 3])
def test_model_dir_must_be_a_path(bad):
    with pytest.raises(ValueError, match="model_dir must be a directory path"):
        RunDir(bad)


def test_model_info_round_trip_and_missing_file(tmp_path):
    run_dir.write_model_info(str(tmp_path), "dcgan", (8, 8, 1), 0, 16)
    assert run_dir.read_model_info(str(tmp_path)) == {
        "model": "dcgan", "image_shape": [8, 8, 1], "num_classes": 0, "latent_dim": 16}
    with pytest.raises(FileNotFoundError, match="must be a directory written by ddst-train"):
        run_dir.read_model_info(str(tmp_path / "nothing"))
