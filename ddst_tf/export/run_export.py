"""Export the EMA generator of a finished (or running) training run in model_dir."""

import os

import gin
import tensorflow as tf

from ddst_tf.cli import gin_setup
from ddst_tf.export.savedmodel import export_saved_model
from ddst_tf.export.strip import strip
from ddst_tf.models import registry
from ddst_tf.sparse import view
from ddst_tf.training.model_info import read_model_info


def load_ema_generator(model_dir):
    """Rebuild the run's generator and restore its EMA weights from the latest checkpoint."""
    info = read_model_info(model_dir)
    gin_setup.parse_saved(model_dir)
    generator, _ = registry.build_gan(info["model"], image_shape=tuple(info["image_shape"]),
                                      num_classes=info["num_classes"], generator_only=True)
    checkpoint_dir = os.path.join(model_dir, "checkpoints")
    path = tf.train.latest_checkpoint(checkpoint_dir)
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {checkpoint_dir}: train first")
    tf.train.Checkpoint(G_ema=generator).restore(path).expect_partial()
    iteration = int(path.rsplit("-", 1)[-1])
    return generator, info, iteration


def export_run(model_dir, output, export_format="saved_model"):
    """Strip the EMA generator and export it; returns the info written beside it."""
    if os.path.exists(output):
        raise FileExistsError(
            f"Export path {output!r} already exists; choose a new --output or delete it")
    if export_format != "saved_model":
        raise ValueError(f"Unknown export format {export_format!r}; known: ['saved_model']")
    generator, info, iteration = load_ema_generator(model_dir)
    layers = view.masked_layers(generator)
    export_info = {
        **info,
        "iteration": iteration,
        "g_density": float(view.global_density(layers)),
        "layer_densities": view.layer_densities(layers),
        "gin_config": gin.config_str(),
    }
    export_saved_model(strip(generator), output, info["latent_dim"], info["num_classes"],
                       export_info)
    return export_info
