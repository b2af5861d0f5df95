"""Tests for ddst_tf.eval.features: the extractor registry, `make_extractor` and `extract` by name."""

import os

import numpy as np
import pytest

from ddst_tf.data.locations import squeezenet_weights
from ddst_tf.eval import features
from ddst_tf.eval.squeezenet_extractor import SqueezeNetExtractor


def test_unknown_extractor_lists_known_names():
    with pytest.raises(ValueError, match=r"'alexnet'.*\['classifier', 'inception', 'squeezenet'\]"):
        features.make_extractor("alexnet")


@pytest.mark.skipif(not os.path.isfile(squeezenet_weights()),
                    reason=f"SqueezeNet weights not at {squeezenet_weights()} (shared data is optional)")
def test_extract_runs_an_extractor_by_name():
    images = np.random.RandomState(5).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    squeezenet = SqueezeNetExtractor(image_size=112)
    np.testing.assert_allclose(features.extract("squeezenet", images, batch_size=2, image_size=112)["pool"],
                               squeezenet(images, batch_size=3)["pool"], rtol=1e-5, atol=1e-5)
