"""SNGAN-style ResNet GANs: ``sngan32`` (GAN-LTH lottery SNGAN) and ``sngan48`` (resnet.48).

Masked layer names follow the PyTorch reference module names with '.' -> '_' and
a ``g_``/``d_`` prefix (G: ``g_l1``, ``g_block2_c1`` ... ``g_block4_c_sc``, ``g_c5``;
D: ``d_block1_c1`` ... ``d_l5``), so the spec's per-layer tables read directly.
"""

import gin

from ddst_tf.models import registry
from ddst_tf.models.arguments import require_unconditional, resnet_image_shape
from ddst_tf.models.resnet import resnet_discriminator, resnet_generator


@registry.register("sngan32", "generator")
@gin.configurable
def sngan32_generator(image_shape=gin.REQUIRED, num_classes=0, latent_dim=128, gf_dim=256):
    """GAN-LTH lottery SNGAN G: l1 -> 4x4 (side/8) x gf_dim, 3 up blocks of gf_dim, c5."""
    require_unconditional("sngan32", num_classes)
    size, _, channels = resnet_image_shape("sngan32", image_shape, 8)
    return resnet_generator(latent_dim, size // 8, [gf_dim] * 4, channels, "torch_default")


@registry.register("sngan32", "discriminator")
@gin.configurable
def sngan32_discriminator(image_shape=gin.REQUIRED, num_classes=0, df_dim=128,
                          spectral_norm=True):
    """GAN-LTH lottery SNGAN D: optimized block, down block, 2 plain blocks, l5 (no bias)."""
    require_unconditional("sngan32", num_classes)
    shape = resnet_image_shape("sngan32", image_shape, 8)
    return resnet_discriminator(shape, [df_dim] * 4, [True, False, False], head_bias=False,
                                spectral_norm=spectral_norm, weight_init="torch_default")


@registry.register("sngan48", "generator")
@gin.configurable
def sngan48_generator(image_shape=gin.REQUIRED, num_classes=0, latent_dim=128, gf_dim=512):
    """ADAPT resnet.48 G: l1 -> 6x6 (side/8) x gf_dim, 3 up blocks halving channels, c5."""
    require_unconditional("sngan48", num_classes)
    size, _, channels = resnet_image_shape("sngan48", image_shape, 32)
    if gf_dim % 8:
        raise ValueError(f"sngan48: gf_dim is halved 3 times, so it must be a multiple "
                         f"of 8; got {gf_dim!r}")
    widths = [gf_dim // 2 ** i for i in range(4)]
    return resnet_generator(latent_dim, size // 8, widths, channels, "kaiming_normal")


@registry.register("sngan48", "discriminator")
@gin.configurable
def sngan48_discriminator(image_shape=gin.REQUIRED, num_classes=0, df_dim=64,
                          spectral_norm=True):
    """ADAPT resnet.48 D: optimized block, 4 down blocks doubling channels, l6 (bias).

    48 -> 24 -> 12 -> 6 -> 3 -> 1 (the last 2x2 pool floors 3 to 1, as in the
    reference), so its global mean pool equals our sum pool.
    """
    require_unconditional("sngan48", num_classes)
    shape = resnet_image_shape("sngan48", image_shape, 32)
    widths = [df_dim * 2 ** i for i in range(5)]
    return resnet_discriminator(shape, widths, [True] * 4, head_bias=True,
                                spectral_norm=spectral_norm, weight_init="kaiming_normal")
