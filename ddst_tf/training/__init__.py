"""GANTrainer and its parts (see README "Architecture")."""

from ddst_tf.training.ema import SparseEMA
from ddst_tf.training.losses import gan_loss
from ddst_tf.training.mask_events import MaskEvents
from ddst_tf.training.state import TrainState
from ddst_tf.training.step import GANStep, IterationPlan
from ddst_tf.training.strategies import make_strategy
from ddst_tf.training.trainer import GANTrainer

__all__ = ["GANStep", "GANTrainer", "IterationPlan", "MaskEvents", "SparseEMA", "TrainState",
           "gan_loss", "make_strategy"]
