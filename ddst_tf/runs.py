"""A finished (or running) training run read back from its directory: its EMA generator.

``model.json`` (model name, image shape, classes, latent size), the run's ``config.gin``
(architecture widths) and the latest checkpoint give the EMA generator that export and
evaluation use.
"""

import tensorflow as tf

from ddst_tf import config
from ddst_tf.models import registry
from ddst_tf.run_dir import RunDir, read_model_info


def latest_checkpoint(model_dir):
    """The newest checkpoint prefix of the run, or a FileNotFoundError."""
    checkpoints = RunDir(model_dir).checkpoints
    path = tf.train.latest_checkpoint(checkpoints)
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {checkpoints}: train first")
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
    tf.train.Checkpoint(G_ema=generator).restore(path).expect_partial()
    return generator, info, int(path.rsplit("-", 1)[-1])

