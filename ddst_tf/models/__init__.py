"""GAN architectures (generator/discriminator pairs) in a gin-configurable registry."""

from ddst_tf.models import biggan, dcgan, sngan  # noqa: F401  (registers the architectures)
from ddst_tf.models.registry import (  # noqa: F401
    build_discriminator, build_gan, build_generator, is_conditional, known_models, register)
