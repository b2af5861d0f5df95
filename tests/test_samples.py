"""Sample grids: layout, value mapping, PNG writing."""

import numpy as np
from PIL import Image

from ddst_tf.training.samples import image_grid, save_png


def test_grid_layout_and_values(tmp_path):
    images = np.full((5, 2, 3, 1), -1.0, np.float32)
    images[4] = 1.0
    grid = image_grid(images, columns=3)
    assert grid.shape == (4, 9, 1) and grid.dtype == np.uint8
    assert grid[2:4, 3:6].max() == 255  # image 4 sits at row 1, column 1
    assert grid[0:2, 0:3].max() == 0
    save_png(str(tmp_path / "g.png"), grid)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), grid[..., 0])
