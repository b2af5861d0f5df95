"""GAN losses: hand-computed values per example, names, unknown-name error."""

import numpy as np
import pytest

from ddst_tf.training import losses


def test_hinge_by_hand():
    real = np.array([[2.0], [0.5]], np.float32)
    fake = np.array([[-2.0], [0.25]], np.float32)
    # relu(1 - 2) + relu(1 - 2) = 0; relu(1 - 0.5) + relu(1 + 0.25) = 0.5 + 1.25
    np.testing.assert_allclose(losses.wasserstein_hinge_discriminator_loss(real, fake), [0.0, 1.75])
    np.testing.assert_allclose(losses.wasserstein_hinge_generator_loss(fake), [2.0, -0.25])


def test_non_saturating_and_wasserstein_by_hand():
    real = np.array([[0.0]], np.float32)
    fake = np.array([[0.0]], np.float32)
    np.testing.assert_allclose(losses.modified_discriminator_loss(real, fake), [2 * np.log(2)],
                               rtol=1e-6)
    np.testing.assert_allclose(losses.modified_generator_loss(fake), [np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss([[3.0]], [[1.0]]), [-2.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss([[1.0]]), [-1.0])


def test_registry():
    assert losses.gan_loss("hinge") == (losses.wasserstein_hinge_generator_loss,
                                        losses.wasserstein_hinge_discriminator_loss)
    with pytest.raises(ValueError, match="'bogus'.*hinge"):
        losses.gan_loss("bogus")
