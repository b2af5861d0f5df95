"""Tiny-width versions of every registered GAN, with random masks, for fast tests."""

import numpy as np

from ddst_tf.models import registry
from ddst_tf.sparse import view

# name: (image shape, generator widths, discriminator widths)
TINY = {
    "sngan32": ((16, 16, 3), {"gf_dim": 8}, {"df_dim": 8}),
    "sngan48": ((32, 32, 1), {"gf_dim": 8}, {"df_dim": 2}),
    "dcgan": ((16, 16, 3), {"base_width": 4}, {"base_width": 4, "spectral_norm": True}),
    "biggan32": ((16, 16, 3), {"ch": 2}, {"ch": 2}),
}
NUM_CLASSES = 3


def sparse_network(name, role, density=0.3, seed=0):
    """The tiny ``role`` ('generator' or 'discriminator') of ``name`` with random masks."""
    image_shape, g_widths, d_widths = TINY[name]
    classes = NUM_CLASSES if registry.is_conditional(name) else 0
    build = registry.build_generator if role == "generator" else registry.build_discriminator
    model = build(name, image_shape=image_shape, num_classes=classes,
                  **(g_widths if role == "generator" else d_widths))
    rng = np.random.default_rng(seed)
    layers = view.masked_layers(model)
    view.set_masks(layers, [(rng.random(layer.mask.shape) < density).astype(np.float32)
                            for layer in layers])
    return model
