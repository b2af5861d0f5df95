"""MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1.

A short ADAPT_strict run (G prune-and-regrow, a D density increase, D-DST) must
end with bit-identical weights and masks on both workers; only the chief writes
the run's files, and its checkpoint resumes in a single process (ddst-train with
the default strategy).
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ddst_tf.training.strategies import local_cluster_tf_configs

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")
WORKER = os.path.join(ROOT, "tests", "multi_worker_main.py")
TRAIN = os.path.join(os.path.dirname(sys.executable), "ddst-train")
TIMEOUT_SECONDS = 240


def run_workers(model_dir, dump_dir, count=2):
    """Start ``count`` workers, wait (bounded) for all, kill any left over; return dumps."""
    tf_configs = local_cluster_tf_configs(count)
    base_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    workers, logs = [], []
    try:
        for index in range(count):
            log = open(os.path.join(dump_dir, f"worker{index}.log"), "w+")
            logs.append(log)
            workers.append(subprocess.Popen(
                [sys.executable, WORKER, CONFIG, model_dir,
                 os.path.join(dump_dir, f"worker{index}.npz")],
                env={**base_env, "TF_CONFIG": tf_configs[index]}, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT))
        for index, worker in enumerate(workers):
            returncode = worker.wait(timeout=TIMEOUT_SECONDS)
            logs[index].seek(0)
            assert returncode == 0, f"worker {index}:\n{logs[index].read()[-4000:]}"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for log in logs:
            log.close()
    dumps = []
    for index in range(count):
        with open(os.path.join(dump_dir, f"worker{index}.json")) as f:
            dumps.append((json.load(f), np.load(os.path.join(dump_dir, f"worker{index}.npz"))))
    return dumps


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("shared_model_dir"))
    dump_dir = str(tmp_path_factory.mktemp("dumps"))
    return model_dir, run_workers(model_dir, dump_dir)


def test_both_workers_end_with_identical_weights_and_masks(trained):
    _, [(chief, chief_arrays), (other, other_arrays)] = trained
    assert chief["is_chief"] and not other["is_chief"]
    for info in (chief, other):
        assert info["replicas"] == 2 and info["iteration"] == 21
        assert info["d_num_changes"] == 2 and info["d_num_dst"] == 1
        assert info["g_optimizer_steps"] == 21
    assert chief_arrays.files == other_arrays.files
    assert any("mask" in k for k in chief_arrays.files)
    for key in chief_arrays.files:
        np.testing.assert_array_equal(chief_arrays[key], other_arrays[key], err_msg=key)
    assert chief["sha256"] == other["sha256"]


def test_only_the_chief_writes_files(trained):
    model_dir, _ = trained
    assert sorted(os.listdir(model_dir)) == [
        ".lock", "checkpoints", "config.gin", "model.json", "operative_config.gin", "run.json",
        "run_summary.json", "samples", "summaries"]
    assert not glob.glob(os.path.join(model_dir, "**", "workertemp_*"), recursive=True)
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints"))) == [
        "checkpoint", "ckpt-21.data-00000-of-00001", "ckpt-21.index"]
    assert len(os.listdir(os.path.join(model_dir, "summaries"))) == 1


def test_chief_checkpoint_resumes_in_a_single_process(trained, tmp_path):
    model_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], model_dir)  # the workers' run stays as they left it
    result = subprocess.run(
        [TRAIN, f"--gin_file={CONFIG}", f"--model_dir={model_dir}",
         "--gin_bindings=GANTrainer.num_iterations = 22"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Resumed from" in result.stderr and "at iteration 21" in result.stderr
    assert "iteration 22/22" in result.stderr
    with open(os.path.join(model_dir, "run_summary.json")) as f:
        assert json.load(f)["iteration"] == 22
