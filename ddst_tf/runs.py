"""A finished (or running) training run read back from its directory: its EMA generator.

``model.json`` (model name, image shape, classes, latent size), the run's ``config.gin``
(architecture widths) and the latest checkpoint give the EMA generator that export and
evaluation use.
"""

import os

import tensorflow as tf

from ddst_tf import config
from ddst_tf.models import registry
from ddst_tf.run_dir import RunDir, read_model_info
from ddst_tf.training import checkpointing


def latest_checkpoint(model_dir):
    """The run's newest complete checkpoint (as training would resume from), or an error
    saying what is there."""
    checkpoints = RunDir(model_dir).checkpoints
    path = checkpointing.newest_complete(checkpoints)
    if path is None:
        files = sorted(os.listdir(checkpoints)) if os.path.isdir(checkpoints) else []
        raise FileNotFoundError(
            f"No complete checkpoint in {checkpoints} (files: {', '.join(files) or 'none'}): "
            f"train first, or restore the missing checkpoint files")
    return path


def load_ema_generator(model_dir):
    """(EMA generator, model info, iteration) of the run's latest checkpoint.

    Parses the run's stored gin config (leaving it active, for the caller's dataset and
    architecture queries) and rebuilds the generator from ``model.json``.
    """
    info = read_model_info(model_dir)
    config.parse_saved(model_dir)
    generator, _ = registry.build_gan(info["model"], image_shape=tuple(info["image_shape"]),
                                      num_classes=info["num_classes"], generator_only=True)
    path = latest_checkpoint(model_dir)
    try:
        tf.train.Checkpoint(G_ema=generator).restore(path).expect_partial()
    except checkpointing.RESTORE_ERRORS as error:
        raise checkpointing.restore_error(path, error) from error
    return generator, info, int(path.rsplit("-", 1)[-1])

