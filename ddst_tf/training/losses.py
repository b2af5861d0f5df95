"""GAN losses under TF-GAN's names, per example so tf.distribute can average globally.

Each function takes discriminator logits of shape [B, 1] (or [B]) and returns a
per-example loss of shape [B]; the trainer reduces it with
``tf.nn.compute_average_loss`` against the global batch size.
"""

import gin
import tensorflow as tf


def _flat(logits):
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


def wasserstein_hinge_generator_loss(fake_logits):
    """Hinge G loss (TF-GAN's name; the paper's L_G = -E[D(G(z))])."""
    return -_flat(fake_logits)


def wasserstein_hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge D loss: relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return tf.nn.relu(1.0 - _flat(real_logits)) + tf.nn.relu(1.0 + _flat(fake_logits))


def modified_generator_loss(fake_logits):
    """Non-saturating G loss: -log sigmoid(D(G(z)))."""
    return tf.nn.softplus(-_flat(fake_logits))


def modified_discriminator_loss(real_logits, fake_logits):
    """Standard D cross-entropy: -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))."""
    return tf.nn.softplus(-_flat(real_logits)) + tf.nn.softplus(_flat(fake_logits))


def wasserstein_generator_loss(fake_logits):
    """WGAN G loss: -D(G(z))."""
    return -_flat(fake_logits)


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """WGAN D loss: D(G(z)) - D(x)."""
    return _flat(fake_logits) - _flat(real_logits)


LOSSES = {
    "hinge": (wasserstein_hinge_generator_loss, wasserstein_hinge_discriminator_loss),
    "non_saturating": (modified_generator_loss, modified_discriminator_loss),
    "wasserstein": (wasserstein_generator_loss, wasserstein_discriminator_loss),
}


@gin.configurable
def gan_loss(name=gin.REQUIRED):
    """(generator_loss, discriminator_loss) per-example functions for a loss name."""
    if name not in LOSSES:
        raise ValueError(f"Unknown GAN loss {name!r}; known losses: {sorted(LOSSES)}")
    return LOSSES[name]
