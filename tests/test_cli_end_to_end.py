"""End to end: ddst-train on digits writes its outputs and resumes; ddst-export serves."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf

from console_scripts import ENV, console_script, train_digits

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(digits_run_copy, digits_run):
    return str(digits_run_copy), digits_run[1]


def test_train_writes_checkpoint_samples_events_and_config(trained):
    model_dir, log = trained
    assert "Fresh run" in log and "iteration 4/4" in log
    assert tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints")).endswith("ckpt-4")
    assert os.path.isfile(os.path.join(model_dir, "samples", "iter_0000004.png"))
    assert os.listdir(os.path.join(model_dir, "summaries"))
    with open(os.path.join(model_dir, "operative_config.gin")) as f:
        operative = f.read()
    assert "GANTrainer.n_critic = 2" in operative and "dcgan_generator.base_width = 8" in operative
    with open(os.path.join(model_dir, "run_summary.json")) as f:
        assert json.load(f)["iteration"] == 4


def test_second_invocation_resumes_at_saved_step(trained, tmp_path):
    model_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], model_dir)  # the module's run stays at 4 iterations
    log = train_digits(model_dir, "--gin_bindings=GANTrainer.num_iterations = 6").stderr
    assert "Resumed from" in log and "at iteration 4" in log and "iteration 6/6" in log
    assert tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints")).endswith("ckpt-6")


def test_export_reloads_in_a_fresh_process_without_ddst_tf(trained, tmp_path):
    model_dir, _ = trained
    output = str(tmp_path / "saved_model")
    console_script("ddst-export", f"--model_dir={model_dir}", f"--output={output}")
    with open(os.path.join(output, "ddst_export.json")) as f:
        info = json.load(f)
    assert set(info["layer_densities"]) and 0 < info["g_density"] <= 1
    assert "GANTrainer.model = 'dcgan'" in info["gin_config"]

    from ddst_tf import runs
    gin.clear_config()
    generator, model_info, _ = runs.load_ema_generator(model_dir)
    gin.clear_config()
    z = np.random.default_rng(0).normal(size=(5, model_info["latent_dim"])).astype(np.float32)
    expected = generator(z, training=False).numpy()
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({output!r})
        z = np.load({str(tmp_path / 'z.npy')!r})
        images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
        seeded = loaded.signatures["generate_from_seed"](
            seed=tf.constant(3, tf.int64), count=tf.constant(2))["images"].numpy()
        assert "ddst_tf" not in sys.modules
        serving = loaded.signatures["serving_default"]
        assert serving.variables and not any("mask" in v.name for v in serving.variables)
        np.save({str(tmp_path / 'out.npy')!r}, images)
        print(seeded.shape, float(seeded.min()), float(seeded.max()))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=ENV, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("(2, 8, 8, 1)")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)


def test_export_refuses_an_existing_path(trained, tmp_path):
    model_dir, _ = trained
    result = console_script("ddst-export", f"--model_dir={model_dir}", f"--output={tmp_path}",
                            check=False)
    assert result.returncode != 0
    assert "already exists" in result.stderr
