"""Tests of ddst_tf.export.run_export and ddst-export: .keras and .tflite exports of a run."""

import json
import os
import subprocess
import sys
import textwrap

import gin
import numpy as np
import pytest

from console_scripts import ENV, console_script
from ddst_tf import runs
from ddst_tf.export import run_export, tflite

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(digits_run_copy):
    """(model_dir, z, the EMA generator's images for z) of a 4-step digits run."""
    model_dir = str(digits_run_copy)
    gin.clear_config()
    generator, info, _ = runs.load_ema_generator(model_dir)
    gin.clear_config()
    z = np.random.default_rng(0).normal(size=(5, info["latent_dim"])).astype(np.float32)
    return model_dir, z, generator(z, training=False).numpy()


def export(model_dir, output, *flags):
    console_script("ddst-export", f"--model_dir={model_dir}", f"--output={output}",
        *flags)
    with open(run_export.info_path(output)) as f:
        return json.load(f)


_LOAD_WITHOUT_DDST_TF = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    model = keras.saving.load_model(sys.argv[1])
    np.save("keras_out.npy", model(np.load("z.npy"), training=False))
    assert "ddst_tf" not in sys.modules
""")


def test_keras_format_writes_a_plain_keras_generator(trained, tmp_path):
    model_dir, z, expected = trained
    output = str(tmp_path / "generator.keras")
    gin.clear_config()
    info = run_export.export_run(model_dir, output, "keras")
    gin.clear_config()
    with open(run_export.info_path(output)) as f:
        assert json.load(f) == info
    assert info["format"] == "keras" and info["keras_bytes"] == os.path.getsize(output)
    assert info["iteration"] == 4 and 0 < info["g_density"] < 1
    np.save(tmp_path / "z.npy", z)
    result = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_DDST_TF, output],
                            capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "keras_out.npy"), expected, atol=1e-5)


def test_tflite_format_writes_a_sparse_flatbuffer_and_its_sizes(trained, tmp_path):
    model_dir, z, expected = trained
    output = str(tmp_path / "generator.tflite")
    info = export(model_dir, output, "--format=tflite")["tflite"]
    with open(output, "rb") as f:
        content = f.read()
    assert info["sparsity"] and info["bytes"] == len(content)
    assert info["dense_weights_bytes"] > 1.2 * info["bytes"]
    assert info["sparse_tensors"] == len(tflite.sparse_tensor_names(content)) >= 1
    assert info["inputs"] == {"z": [None, 16]}
    assert info["check"]["max_abs_diff"] <= info["check"]["tolerance"] == 1e-4
    np.testing.assert_allclose(tflite.run_tflite(content, z), expected, atol=1e-5)


def test_tflite_without_sparsity_keeps_dense_weights(trained, tmp_path):
    model_dir, z, expected = trained
    output = str(tmp_path / "dense.tflite")
    gin.clear_config()
    info = run_export.export_run(model_dir, output, "tflite", tflite_sparsity=False)["tflite"]
    gin.clear_config()
    assert not info["sparsity"] and info["sparse_tensors"] == 0
    assert info["bytes"] == info["dense_weights_bytes"] == os.path.getsize(output)
    with open(output, "rb") as f:
        np.testing.assert_allclose(tflite.run_tflite(f.read(), z), expected, atol=1e-5)


@pytest.mark.parametrize("export_format, name, message", [
    ("onnx", "g.onnx", "Unknown export format 'onnx'; known: \\['saved_model', 'keras'"),
    ("tflite", "g.keras", "--format=tflite writes a .tflite file; got --output=.*g.keras"),
    ("keras", "g", "--format=keras writes a .keras file"),
])
def test_bad_format_or_output_is_rejected_before_any_work(tmp_path, export_format, name,
                                                          message):
    with pytest.raises(ValueError, match=message):
        run_export.export_run(str(tmp_path / "no_run"), str(tmp_path / name), export_format)
