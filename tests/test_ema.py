"""Sparse EMA: the EMA arithmetic and SEMA's zeros after a generator mask change."""

import keras
import numpy as np
import pytest

from ddst_tf.layers.masked import MaskedDense
from ddst_tf.sparse import view
from ddst_tf.training.ema import SparseEMA


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    x = MaskedDense(4, name="a")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, MaskedDense(2, name="b")(x))


def test_ema_arithmetic_and_sema_after_mask_change():
    model, ema_model = _model(), _model()
    ema = SparseEMA(model, ema_model, decay=0.5)
    ema.reset()
    layer = view.masked_layers(model)[0]
    old = layer.kernel_variable.numpy().copy()
    layer.kernel_variable.assign(old + 1.0)
    ema.update()
    ema_layer = view.masked_layers(ema_model)[0]
    np.testing.assert_allclose(ema_layer.kernel_variable.numpy(), old + 0.5, atol=1e-6)

    mask = np.ones((3, 4), np.float32)
    mask[0] = 0  # G drops a row: SEMA must zero the EMA there at once
    view.set_masks([layer], [mask])
    ema.update()
    ema_kernel = ema_layer.kernel_variable.numpy()
    assert np.all(ema_kernel[mask == 0] == 0)
    np.testing.assert_allclose(ema_kernel[1:], 0.5 * (old[1:] + 0.5) + 0.5 * (old[1:] + 1.0),
                               atol=1e-6)
    np.testing.assert_array_equal(ema_layer.mask.numpy(), mask)  # masks are copied


def test_mismatched_models_and_bad_decay():
    with pytest.raises(ValueError, match="decay"):
        SparseEMA(_model(), _model(), decay=1.0)
    other = keras.Sequential([keras.Input((3,)), MaskedDense(5)])
    with pytest.raises(ValueError):
        SparseEMA(_model(), other, decay=0.9)
