"""Forward and training FLOPs of Keras models by the ADAPT paper's counting rules.

Per-sample forward FLOPs come from one eager forward pass on a single sample
(``training=False``, so no BN statistics or SN vectors change) during which
every counted layer's ``call`` is wrapped on the instance to record its input
and output shapes, like PyTorch forward hooks; the wrappers are removed
afterwards. This works for functional and subclassed models alike. Rules
(spec section 3; one multiply-add counts as one FLOP):

* Dense: ``in * out`` per output position (+ ``out`` bias).
* Conv2D: ``in / groups * out * kh * kw * H_out * W_out`` (+ ``out * H_out * W_out``
  bias); strides and padding enter through the output size.
* Conv2DTranspose (not in the official models; our rule): ``in * out * kh * kw *
  H_in * W_in``, the multiply-adds of scattering every input pixel through the
  kernel (+ ``out * H_out * W_out`` bias).
* BatchNormalization: ``2 * C * H * W`` (``2 * C`` on flat inputs), whether or not it
  has its own scale/centre: the only BN without them here is the normalisation
  of BigGAN's conditional batch norm, whose scale and shift come from embeddings.
* Embedding and everything else (activations, pooling, up-sampling, reshapes,
  adds, spectral-norm power iterations, mask products): 0.

Weight FLOPs of masked layers scale with the layer's mask density; bias and BN
FLOPs are always dense. A layer with weights that fits none of these rules
raises, so new layer types cannot be silently left out.
"""

import dataclasses
import functools
import math

import keras
import numpy as np

from ddst_tf import validation
from ddst_tf.layers.masked import MASKED_LAYER_TYPES

KINDS = ("dense", "conv", "conv_transpose", "batch_norm", "embedding")


@dataclasses.dataclass(frozen=True)
class LayerFlops:
    """Per-sample forward FLOPs of one layer (``kind`` one of KINDS): ``weight_flops``
    scale with its density when ``masked``, ``dense_flops`` (bias, normalisation) never do."""

    name: str
    kind: str
    weight_flops: float
    dense_flops: float
    masked: bool


def _kind(layer):
    """The counting rule of ``layer`` (one of KINDS), or None for layers that cost nothing."""
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return "conv_transpose"
    if isinstance(layer, keras.layers.Conv2D):
        return "conv"
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batch_norm"
    if isinstance(layer, keras.layers.Embedding):
        return "embedding"
    if layer.weights:
        raise ValueError(
            f"No FLOPs rule for layer {layer.name!r} of type {type(layer).__name__}: it has "
            f"weights, and only Dense, Conv2D, Conv2DTranspose, BatchNormalization and "
            f"Embedding layers are counted")
    return None


def _leaf_layers(model):
    """Layers of ``model`` (or the layer itself) that hold no further layers."""
    layers = [model] + list(model._flatten_layers(include_self=False, recursive=True))
    return [layer for layer in layers
            if not list(layer._flatten_layers(include_self=False, recursive=False))]


def _channels_last(layer):
    return getattr(layer, "data_format", "channels_last") != "channels_first"


def _split(shape, channels_last):
    """(channels, spatial positions) of a per-sample shape (batch dim dropped)."""
    if channels_last:
        return shape[-1], math.prod(shape[:-1])
    return shape[0], math.prod(shape[1:])


def _bias_flops(layer, positions):
    return layer.filters * positions if layer.use_bias else 0


def _count(layer, kind, in_shape, out_shape):
    """(weight FLOPs, dense FLOPs) of one call on one sample."""
    if kind == "dense":
        positions = math.prod(out_shape[:-1])
        weight = in_shape[-1] * layer.units * positions
        return weight, (layer.units * positions if layer.use_bias else 0)
    if kind == "conv":
        in_channels, _ = _split(in_shape, _channels_last(layer))
        _, out_positions = _split(out_shape, _channels_last(layer))
        weight = in_channels // layer.groups * layer.filters * math.prod(layer.kernel_size) \
            * out_positions
        return weight, _bias_flops(layer, out_positions)
    if kind == "conv_transpose":
        in_channels, in_positions = _split(in_shape, _channels_last(layer))
        _, out_positions = _split(out_shape, _channels_last(layer))
        weight = in_channels * layer.filters * math.prod(layer.kernel_size) * in_positions
        return weight, _bias_flops(layer, out_positions)
    if kind == "batch_norm":
        return 0, 2 * math.prod(out_shape)
    return 0, 0


def sample_inputs(model):
    """One all-zero sample for each of the model's inputs.

    Functional models: from ``model.inputs``. Otherwise from the attributes our
    networks carry: generators ``latent_dim``, discriminators ``image_shape``, plus
    int labels when ``num_classes`` > 0.
    """
    specs = getattr(model, "inputs", None)
    if specs:
        samples = [np.zeros((1,) + tuple(spec.shape[1:]), dtype=spec.dtype) for spec in specs]
        return samples if len(samples) > 1 else samples[0]
    if hasattr(model, "latent_dim"):
        first = np.zeros((1, int(model.latent_dim)), np.float32)
    elif hasattr(model, "image_shape"):
        first = np.zeros((1,) + tuple(model.image_shape), np.float32)
    else:
        raise ValueError(
            f"Cannot tell the inputs of model {model.name!r}: it is not functional and has "
            f"neither latent_dim nor image_shape; pass sample inputs explicitly")
    if getattr(model, "num_classes", 0):
        return [first, np.zeros((1,), np.int32)]
    return first


def _first_tensor(value):
    while isinstance(value, (list, tuple)):
        value = value[0]
    return value


def _per_sample_shape(tensor):
    shape = tuple(int(n) for n in tensor.shape)
    if not shape or shape[0] != 1:
        raise ValueError(f"Expected a batch of one sample, got a tensor of shape {shape}")
    return shape[1:]


def layer_flops(model, inputs=None):
    """[LayerFlops] of every counted layer, in call order, for one sample.

    ``inputs``: one sample (batch size 1) in the model's input structure; by
    default :func:`sample_inputs`. A layer called several times gets one entry
    per call.
    """
    if inputs is None:
        inputs = sample_inputs(model)
    records = []

    def hook(layer, kind, call):
        def recorded_call(*args, **kwargs):
            outputs = call(*args, **kwargs)
            weight, dense = _count(layer, kind, _per_sample_shape(_first_tensor(args)),
                                   _per_sample_shape(_first_tensor(outputs)))
            records.append(LayerFlops(layer.name, kind, float(weight), float(dense),
                                      isinstance(layer, MASKED_LAYER_TYPES)))
            return outputs

        return functools.wraps(call)(recorded_call)

    hooked = []
    try:
        for layer in _leaf_layers(model):
            kind = _kind(layer)
            if kind is None:
                continue
            object.__setattr__(layer, "call", hook(layer, kind, layer.call))
            hooked.append(layer)
        model(inputs, training=False)
    finally:
        for layer in hooked:
            object.__delattr__(layer, "call")
    return records


def _check_densities(layers, densities):
    masked = {layer.name for layer in layers if layer.masked}
    missing = sorted(masked - set(densities))
    unknown = sorted(set(densities) - masked)
    if missing or unknown:
        raise ValueError(
            f"densities must name exactly the masked layers {sorted(masked)}; "
            f"missing {missing}, unknown {unknown}")
    for name, value in densities.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"Density of layer {name!r} must be in [0, 1]; got {value!r}")


def forward_flops(layers, densities=None):
    """Per-sample forward FLOPs of [LayerFlops] at ``densities`` ({masked layer name:
    density}; None: all dense)."""
    if densities is None:
        return float(sum(layer.weight_flops + layer.dense_flops for layer in layers))
    _check_densities(layers, densities)
    return float(sum(
        layer.weight_flops * (densities[layer.name] if layer.masked else 1.0)
        + layer.dense_flops for layer in layers))


def iteration_flops(g_forward, d_forward, gen_batch_size, disc_batch_size, n_critic,
                    paper_convention=True):
    """(G, D) training FLOPs of one iteration (n_critic D steps and one G step).

    Backward = 2x forward. G: ``disc_batch_size * n_critic`` forward samples while D
    trains + ``3 * gen_batch_size`` while G trains. D: ``3 * disc_batch_size * n_critic``
    (fwd + bwd once per real batch; the fake pass is not counted, as in the
    official code) + ``gen_batch_size`` forward while G trains.
    ``paper_convention`` multiplies D by ``n_critic`` once more, as the official
    ``main.py`` totals (D: iter_flops_D x iterations x n_critic) and so the
    paper's Table 3 do; ``False`` gives the count without that double weighting.
    """
    for name, value in [("gen_batch_size", gen_batch_size),
                        ("disc_batch_size", disc_batch_size), ("n_critic", n_critic)]:
        validation.positive_int(name, value)
    g_samples = disc_batch_size * n_critic + 3 * gen_batch_size
    d_samples = 3 * disc_batch_size * n_critic + gen_batch_size
    if paper_convention:
        d_samples *= n_critic
    return float(g_forward) * g_samples, float(d_forward) * d_samples
