"""Tests for ddst_tf.eval.image_batches: the image and batch-size checks every extractor runs."""

import numpy as np
import pytest

from ddst_tf.eval import image_batches


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 8, 8), np.float32), "NHWC"),
    (np.zeros((2, 8, 8, 2), np.float32), "1 or 3 channels"),
    (np.zeros((2, 8, 8, 3), np.uint8), "float"),
    (np.zeros((0, 8, 8, 3), np.float32), "at least one"),
    (np.full((2, 8, 8, 3), 255.0, np.float32), r"\[-1, 1\].*255"),
])
def test_check_images_rejects_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        image_batches.check_images(images)


def test_run_batched_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        image_batches.run_batched(lambda batch: (batch, None), np.zeros((2, 8, 8, 3), np.float32), 0)
