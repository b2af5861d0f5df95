"""TFLite conversion of a stripped generator, optionally with sparse weight encoding.

Input signature (the SavedModel's ``serving_default``, batch dimension dynamic):
``z`` float32 [N, latent_dim] (and ``labels`` int32 [N] for a conditional
generator) -> ``images`` float32 [N, H, W, C] in [-1, 1]. Resize the inputs to
the batch you want with ``interpreter.resize_tensor_input`` before
``allocate_tensors`` (see :func:`run_tflite`).

Keras' nearest ``UpSampling2D`` (``repeat``) loses the spatial shape when the
batch is dynamic, and TFLite then cannot lower the following Conv2D, so the
converted graph uses an equivalent ``Resizing(2H, 2W, "nearest")`` instead
(one RESIZE_NEAREST_NEIGHBOR op; exact for integer factors).

``tf.lite.Optimize.EXPERIMENTAL_SPARSITY`` stores constant weights with enough
zeros in a compressed sparse format; it only pays off when the masks are baked
into the kernels, which :func:`ddst_tf.export.strip.strip` does.
"""

import importlib.metadata
import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from ddst_tf.export.savedmodel import GeneratorServer

SIGNATURE = "serving_default"


def tflite_graph(model):
    """A functional copy of ``model`` with nearest UpSampling2D replaced by Resizing."""
    return keras.models.clone_model(model, clone_function=_tflite_layer)


def _tflite_layer(layer):
    if isinstance(layer, keras.Model):
        return tflite_graph(layer)
    if isinstance(layer, keras.layers.UpSampling2D):
        if layer.interpolation != "nearest" or layer.data_format != "channels_last":
            raise ValueError(
                f"UpSampling2D {layer.name!r} uses interpolation={layer.interpolation!r}, "
                f"data_format={layer.data_format!r}; TFLite export supports 'nearest', "
                f"'channels_last' only")
        height, width = layer.output.shape[1:3]
        return keras.layers.Resizing(height, width, interpolation="nearest", name=layer.name)
    return layer.__class__.from_config(layer.get_config())


def convert_generator(generator, latent_dim, num_classes=0, sparsity=True):
    """The TFLite flatbuffer (bytes) of a stripped ``generator``.

    ``sparsity`` turns on ``EXPERIMENTAL_SPARSITY`` (sparse encoding of weights
    that are mostly zeros); weights are float32 either way (no quantisation).
    """
    graph = tflite_graph(generator)
    graph.set_weights(generator.get_weights())
    server = GeneratorServer(graph, latent_dim, num_classes)
    with tempfile.TemporaryDirectory() as saved_model:
        tf.saved_model.save(server, saved_model, signatures={SIGNATURE: server.serving_default})
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, [SIGNATURE])
        converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY] if sparsity else []
        return converter.convert()


def make_interpreter(model_content, num_threads=None):
    """A TFLite interpreter of a flatbuffer: LiteRT's (``ai-edge-litert``, TFLite's maintained
    successor) where it is installed, else ``tf.lite.Interpreter`` (deprecated, still in TF 2.21)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "(?s).*tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_content=model_content, num_threads=num_threads)
    return Interpreter(model_content=model_content, num_threads=num_threads)


def interpreter_name():
    """Which interpreter :func:`make_interpreter` uses ('LiteRT ...' or 'tf.lite')."""
    try:
        return f"LiteRT {importlib.metadata.version('ai-edge-litert')}"
    except importlib.metadata.PackageNotFoundError:
        return f"tf.lite (TensorFlow {tf.__version__})"


def run_tflite(model_content, z, labels=None):
    """Run the converted generator on latents ``z`` (and ``labels``); returns images."""
    interpreter = make_interpreter(model_content)
    inputs = {"z": np.asarray(z, np.float32)}
    if labels is not None:
        inputs["labels"] = np.asarray(labels, np.int32)
    details = {d["name"]: d for d in interpreter.get_input_details()}
    names = {f"{SIGNATURE}_{name}:0": name for name in inputs}
    if set(details) != set(names):
        raise ValueError(f"The TFLite model has inputs {sorted(details)}; "
                         f"got {sorted(inputs)}")
    for tensor_name, name in names.items():
        interpreter.resize_tensor_input(details[tensor_name]["index"], inputs[name].shape)
    interpreter.allocate_tensors()
    for tensor_name, name in names.items():
        interpreter.set_tensor(details[tensor_name]["index"], inputs[name])
    interpreter.invoke()
    (output,) = interpreter.get_output_details()
    return interpreter.get_tensor(output["index"])


def sparse_tensor_names(model_content):
    """Names of the tensors stored in TFLite's sparse format."""
    return [d["name"] for d in make_interpreter(model_content).get_tensor_details()
            if d["sparsity_parameters"]]
