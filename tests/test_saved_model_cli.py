"""Tests of ddst_tf.export.savedmodel: what saved_model_cli shows, serving with TF alone."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.export.savedmodel import INFO_NAME, export_saved_model
from ddst_tf.export.strip import strip
from ddst_tf.export.tflite import make_interpreter
from ddst_tf.models import registry
from ddst_tf.sparse import view

SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
NUM_CLASSES = 4


def sparse_generator(name, num_classes=0, density=0.3, **widths):
    generator = registry.build_generator(name, image_shape=(16, 16, 3),
                                         num_classes=num_classes, **widths)
    rng = np.random.default_rng(0)
    layers = view.masked_layers(generator)
    view.set_masks(layers, [(rng.random(layer.mask.shape) < density).astype(np.float32)
                            for layer in layers])
    return generator


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{'unconditional'|'conditional': (export dir, stripped generator)}."""
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for kind, generator, classes in (
            ("unconditional", sparse_generator("sngan32", gf_dim=8), 0),
            ("conditional", sparse_generator("biggan32", NUM_CLASSES, ch=2), NUM_CLASSES)):
        stripped = strip(generator)
        path = export_saved_model(stripped, str(root / kind), generator.latent_dim, classes,
                                  {"kind": kind})
        out[kind] = (path, stripped)
    return out


def signature_defs(cli_output):
    """{signature: {'inputs'|'outputs': {name: (dtype, shape)}}} parsed from `show --all`."""
    signatures = {}
    blocks = re.split(r"^signature_def\['([^']+)'\]:$", cli_output, flags=re.M)
    for name, body in zip(blocks[1::2], blocks[2::2]):
        inputs, _, outputs = body.partition("contains the following output(s):")
        signatures[name] = {
            side: {m[0]: (m[1], m[2]) for m in re.findall(
                r"\w+\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (.+)$", text, flags=re.M)}
            for side, text in (("inputs", inputs), ("outputs", outputs))}
    return signatures


def show_all(path):
    result = subprocess.run([SAVED_MODEL_CLI, "show", "--all", "--dir", path],
                            capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_saved_model_cli_shows_the_unconditional_signatures(exports):
    output = show_all(exports["unconditional"][0])
    signatures = signature_defs(output)
    images = {"images": ("DT_FLOAT", "(-1, 16, 16, 3)")}
    assert signatures["serving_default"] == {
        "inputs": {"z": ("DT_FLOAT", "(-1, 128)")}, "outputs": images}
    assert signatures["generate_from_seed"] == {
        "inputs": {"seed": ("DT_INT64", "()"), "count": ("DT_INT32", "()")},
        "outputs": images}
    assert output.count("Method name is: tensorflow/serving/predict") == 2


def test_saved_model_cli_shows_the_label_input_of_a_conditional_generator(exports):
    signatures = signature_defs(show_all(exports["conditional"][0]))
    labels = ("DT_INT32", "(-1)")
    assert signatures["serving_default"]["inputs"] == {
        "z": ("DT_FLOAT", "(-1, 128)"), "labels": labels}
    assert signatures["generate_from_seed"]["inputs"] == {
        "seed": ("DT_INT64", "()"), "count": ("DT_INT32", "()"), "labels": labels}
    assert signatures["serving_default"]["outputs"] == {"images": ("DT_FLOAT", "(-1, 16, 16, 3)")}


_SERVE_CONDITIONAL = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    data = np.load("inputs.npz")
    serve = loaded.signatures["serving_default"]
    seeded = loaded.signatures["generate_from_seed"]
    images = serve(z=tf.constant(data["z"]), labels=tf.constant(data["labels"]))["images"]
    labels = tf.constant([1, 3], tf.int32)
    first = seeded(seed=tf.constant(7, tf.int64), count=tf.constant(2), labels=labels)
    again = seeded(seed=tf.constant(7, tf.int64), count=tf.constant(2), labels=labels)
    other = seeded(seed=tf.constant(8, tf.int64), count=tf.constant(2), labels=labels)
    np.testing.assert_array_equal(first["images"], again["images"])
    assert np.max(np.abs(first["images"] - other["images"])) > 1e-4
    assert "ddst_tf" not in sys.modules, "serving imported ddst_tf"
    np.save("served.npy", images.numpy())
    print(first["images"].shape)
""")


def test_conditional_generator_serves_in_a_fresh_tensorflow_only_process(exports, tmp_path):
    path, stripped = exports["conditional"]
    rng = np.random.default_rng(4)
    z = rng.normal(size=(6, 128)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 0, 3], np.int32)
    np.savez(tmp_path / "inputs.npz", z=z, labels=labels)
    result = subprocess.run([sys.executable, "-c", _SERVE_CONDITIONAL, path],
                            capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "(2, 16, 16, 3)"
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"),
                               stripped([z, labels], training=False).numpy(), atol=1e-5)
    with open(os.path.join(path, INFO_NAME)) as f:
        info = json.load(f)
    assert info.pop("kind") == "conditional"
    assert 0 < info.pop("saved_model_compressed_bytes") < info.pop("saved_model_bytes")
    assert info == {}


def test_exported_saved_model_converts_to_tflite_with_its_weights(tmp_path):
    # TFLite freezes only variables the SavedModel tracks as tf.Variables; untracked
    # Keras variables convert to uninitialised READ_VARIABLE ops that output NaN.
    generator = sparse_generator("dcgan", base_width=4)
    stripped = strip(generator)
    path = export_saved_model(stripped, str(tmp_path / "dcgan"), generator.latent_dim)
    converter = tf.lite.TFLiteConverter.from_saved_model(path, ["serving_default"])
    interpreter = make_interpreter(converter.convert())
    assert not {op["op_name"] for op in interpreter._get_ops_details()} & {
        "VAR_HANDLE", "READ_VARIABLE"}
    z = np.random.default_rng(5).normal(size=(3, generator.latent_dim)).astype(np.float32)
    images = interpreter.get_signature_runner("serving_default")(z=z)["images"]
    np.testing.assert_allclose(images, stripped(z, training=False).numpy(), atol=1e-5)


def test_saved_model_stores_each_weight_once(exports):
    path, stripped = exports["unconditional"]
    weight_bytes = sum(w.numpy().nbytes for w in stripped.weights)
    data = os.path.join(path, "variables", "variables.data-00000-of-00001")
    # Tracking the Keras model as well as its tf.Variables would store every weight twice.
    assert weight_bytes <= os.path.getsize(data) < 1.5 * weight_bytes
