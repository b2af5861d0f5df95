"""Functional GAN networks with the attributes the trainer reads off them."""

import keras


def gan_network(inputs, outputs, name, image_shape, num_classes, latent_dim=None):
    """``keras.Model(inputs, outputs, name=name)`` with ``image_shape``, ``num_classes``
    (0: unconditional) and, for generators, ``latent_dim`` set as attributes.

    The attributes are not part of the model config, so a model loaded from a
    ``.keras`` file lacks them; read them from its inputs instead (the latent
    size is ``model.inputs[0].shape[-1]``).
    """
    model = keras.Model(inputs, outputs, name=name)
    model.image_shape = tuple(int(v) for v in image_shape)
    model.num_classes = int(num_classes)
    if latent_dim is not None:
        model.latent_dim = int(latent_dim)
    return model
