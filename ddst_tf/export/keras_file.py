"""``.keras`` files: sparse models with their masks, and stripped plain-Keras generators.

A masked model saves through ``keras.saving`` as is: every masked layer saves
all its weights (kernel, bias, mask and, with spectral norm, ``sn_u``) and is
registered under the ``ddst_tf`` package, so loading needs ddst_tf importable.
A stripped model (:func:`ddst_tf.export.strip.strip`) is made of built-in
Keras layers only and loads with plain Keras.
"""

import keras

from ddst_tf import atomic_write
from ddst_tf.export.strip import strip
from ddst_tf.layers import masked  # noqa: F401  (registers the masked layers)
from ddst_tf.layers import spectral_norm  # noqa: F401  (registers the SN layers)

SUFFIX = ".keras"


def _check_suffix(path):
    if not str(path).endswith(SUFFIX):
        raise ValueError(f"A Keras model file must end in {SUFFIX!r}; got {str(path)!r}")


def _save_atomically(model, path):
    """keras.saving.save_model to ``path``, atomically."""
    with atomic_write.replacing(str(path)) as partial:
        keras.saving.save_model(model, partial)


def save_sparse_model(model, path):
    """Save ``model`` with its masks (loadable with :func:`load_sparse_model`)."""
    _check_suffix(path)
    _save_atomically(model, path)


def load_sparse_model(path):
    """Load a model saved with masked layers; masks and kernel constraints come back."""
    _check_suffix(path)
    return keras.saving.load_model(path)


def export_keras(model, path):
    """Write the stripped (plain Keras, masks folded) copy of ``model`` to ``path``."""
    _check_suffix(path)
    stripped = strip(model)
    _save_atomically(stripped, path)
    return stripped

