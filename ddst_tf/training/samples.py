"""Sample grids: tile generated images in [-1, 1] into one uint8 picture and save it."""

import math

import numpy as np
from PIL import Image

from ddst_tf import atomic_write


def image_grid(images, columns=None):
    """[N, H, W, C] float images in [-1, 1] -> one [rows*H, columns*W, C] uint8 grid."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid expects [N, H, W, C] images, got shape {images.shape}")
    n, h, w, c = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    grid = np.zeros((rows * h, columns * w, c), np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = pixels[i]
    return grid


def save_png(path, grid):
    """Write a uint8 [H, W, C] array as PNG (atomically: temp file, then rename)."""
    array = grid[..., 0] if grid.shape[-1] == 1 else grid
    with atomic_write.replacing(path) as partial:
        Image.fromarray(array).save(partial, format="PNG")
