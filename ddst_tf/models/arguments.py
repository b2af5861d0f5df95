"""Checks of the arguments every model builder takes: image shape and class count."""


def square_image_shape(image_shape, model, is_supported, supported):
    """``image_shape`` as an (H, W, C) tuple of ints, or a ValueError naming what fits.

    ``is_supported(size)`` decides whether the architecture can handle a square
    image of side ``size``; ``supported`` describes the allowed sizes in words.
    """
    try:
        height, width, channels = (int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{model}: image_shape must be (height, width, channels); got {image_shape!r}"
        ) from None
    if channels < 1:
        raise ValueError(f"{model}: image_shape needs at least one channel; got {image_shape!r}")
    if height != width or not is_supported(height):
        raise ValueError(
            f"{model} does not support image_shape {tuple(image_shape)!r}: it needs square "
            f"images of side {supported}")
    return height, width, channels


def require_unconditional(model, num_classes):
    """Unconditional architectures accept num_classes == 0 only."""
    if int(num_classes) != 0:
        raise ValueError(
            f"{model} is an unconditional GAN; num_classes must be 0, got {num_classes!r}")


def require_conditional(model, num_classes):
    """Class-conditional architectures need at least one class; returns it as an int."""
    try:
        count = int(num_classes)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or count != num_classes:
        raise ValueError(
            f"{model} is a class-conditional GAN; num_classes must be a positive int, "
            f"got {num_classes!r}")
    return count


def resnet_image_shape(model, image_shape, min_size):
    """Image shape of a ResNet GAN whose G upsamples 3 times from side/8."""
    return square_image_shape(
        image_shape, model, lambda s: s % 8 == 0 and s >= min_size,
        f"a multiple of 8 and at least {min_size} (G upsamples 3 times from side/8)")
