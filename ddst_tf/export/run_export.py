"""Export the EMA generator of a finished (or running) training run in model_dir."""

import os

import gin
import numpy as np

from ddst_tf.atomic_write import write_bytes, write_json
from ddst_tf.export import sizes, tflite
from ddst_tf.export.keras_file import SUFFIX as KERAS_SUFFIX
from ddst_tf.export.keras_file import export_keras
from ddst_tf.export.savedmodel import export_saved_model
from ddst_tf.export.strip import strip
from ddst_tf.runs import load_ema_generator
from ddst_tf.sparse import view

FORMATS = ("saved_model", "keras", "tflite")
TFLITE_SUFFIX = ".tflite"
# The TFLite output may differ from the Keras model's by at most this (images in [-1, 1]).
TFLITE_TOLERANCE = 1e-4
TFLITE_CHECK_BATCH = 4


def info_path(output):
    """Where the export info JSON of a single-file export (.keras, .tflite) goes."""
    return output + ".export_info.json"


def export_run(model_dir, output, export_format="saved_model", tflite_sparsity=True):
    """Strip the EMA generator and export it; returns the info written beside it.

    ``saved_model`` writes a directory (info inside as ddst_export.json);
    ``keras`` and ``tflite`` write one file (``.keras`` / ``.tflite``) and the
    info to :func:`info_path`. ``tflite_sparsity`` turns on the converter's
    sparse weight encoding.
    """
    if export_format not in FORMATS:
        raise ValueError(f"Unknown export format {export_format!r}; known: {list(FORMATS)}")
    suffix = {"keras": KERAS_SUFFIX, "tflite": TFLITE_SUFFIX}.get(export_format)
    if suffix and not output.endswith(suffix):
        raise ValueError(f"--format={export_format} writes a {suffix} file; got --output="
                         f"{output!r}")
    if os.path.exists(output):
        raise FileExistsError(
            f"Export path {output!r} already exists; choose a new --output or delete it")
    generator, info, iteration = load_ema_generator(model_dir)
    layers = view.masked_layers(generator)
    export_info = {
        **info,
        "iteration": iteration,
        "format": export_format,
        "g_density": float(view.global_density(layers)),
        "layer_densities": view.layer_densities(layers),
        "gin_config": gin.config_str(),
    }
    if export_format == "saved_model":
        export_saved_model(strip(generator), output, info["latent_dim"], info["num_classes"],
                           export_info)
        return export_info
    if export_format == "keras":
        export_keras(generator, output)
        export_info["keras_bytes"] = sizes.size_bytes(output)
        export_info["keras_compressed_bytes"] = sizes.compressed_bytes(output)
    else:
        export_info["tflite"] = _write_tflite(generator, output, info, tflite_sparsity)
    write_json(info_path(output), export_info)
    return export_info


def _write_tflite(generator, output, info, sparsity):
    """Convert (with and without sparse encoding, to report both sizes), check, write."""
    stripped = strip(generator)
    latent_dim, num_classes = info["latent_dim"], info["num_classes"]
    dense_weights = tflite.convert_generator(stripped, latent_dim, num_classes, sparsity=False)
    content = (tflite.convert_generator(stripped, latent_dim, num_classes, sparsity=True)
               if sparsity else dense_weights)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(TFLITE_CHECK_BATCH, latent_dim)).astype(np.float32)
    labels = rng.integers(0, num_classes, TFLITE_CHECK_BATCH).astype(np.int32) \
        if num_classes else None
    expected = stripped([z, labels] if num_classes else z, training=False).numpy()
    max_abs_diff = float(np.max(np.abs(tflite.run_tflite(content, z, labels) - expected)))
    if not max_abs_diff <= TFLITE_TOLERANCE:
        raise RuntimeError(
            f"The TFLite generator's images differ from the Keras generator's by "
            f"{max_abs_diff:.3g} > {TFLITE_TOLERANCE}; not writing {output!r}")
    write_bytes(output, content)
    return {
        "sparsity": bool(sparsity),
        "bytes": len(content),
        "dense_weights_bytes": len(dense_weights),
        "sparse_tensors": len(tflite.sparse_tensor_names(content)),
        "inputs": {"z": [None, latent_dim], **({"labels": [None]} if num_classes else {})},
        "compressed_bytes": sizes.compressed_bytes(output),
        "check": {"interpreter": tflite.interpreter_name(), "batch": TFLITE_CHECK_BATCH,
                  "max_abs_diff": max_abs_diff,
                  "tolerance": TFLITE_TOLERANCE},
    }
