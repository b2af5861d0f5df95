"""Saving every weight of a layer in .keras files.

Keras' Dense/Conv/Embedding ``save_own_variables`` write only their kernel (or
table) and bias; layers that add weights (masks, spectral-norm vectors) need the
generic Layer behaviour, which saves all of ``layer.weights`` in order.
"""

import keras


class SaveAllWeights:
    """Mixin restoring keras.layers.Layer's save/load of every weight."""

    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)
