"""TrainState: everything a training checkpoint holds, in one tf.Module.

G, D and the EMA generator, both optimizers (their ``iterations`` are each network's step
counter), the iteration and NaN-skip counters, the ITOP trackers, the BR window, the FLOPs
accountant and the D density controller. The data position and the latent draws follow from
the counters and the seed, so restoring this state resumes a run exactly. The checkpoint
(``checkpoint_items``) and the NaN guard (``float_variables``) both read it from here.
"""

import keras
import tensorflow as tf

from ddst_tf.balance.balance_ratio import BalanceRatio
from ddst_tf.flops.accountant import FlopsAccountant
from ddst_tf.flops.counting import layer_flops
from ddst_tf.models import registry
from ddst_tf.sparse import view
from ddst_tf.sparse.dynamic import ActivationTracker


class TrainState(tf.Module):
    """The checkpointed state of one run; :meth:`create` builds it in a strategy's scope."""

    def __init__(self, G, D, G_ema, g_optimizer, d_optimizer):
        super().__init__(name="train_state")
        self.G, self.D, self.G_ema = G, D, G_ema
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration", trainable=False)
        self.nan_skips = tf.Variable(0, dtype=tf.int64, name="nan_skips", trainable=False)
        # sha256 of the config bindings that must not change on resume, as 4 int64 words
        # (stored_config.fingerprint_words; numbers, which every strategy can replicate).
        self.config_fingerprint = tf.Variable(tf.zeros([4], tf.int64), name="config_fingerprint",
                                              trainable=False)
        self.g_layers = view.masked_layers(G)
        self.d_layers = view.masked_layers(D)
        self.ema_layers = view.masked_layers(G_ema)
        self.g_itop = ActivationTracker(self.g_layers, name="g_itop")
        self.d_itop = ActivationTracker(self.d_layers, name="d_itop")
        self.balance_ratio = None
        self.flops = None
        self.d_controller = None

    @classmethod
    def create(cls, strategy, *, model, image_shape, num_classes, seed, optimizer,
               balance_ratio, recipe, d_controller=None):
        """Build the models and the rest of the state in ``strategy``'s scope.

        ``optimizer``: (g_learning_rate, d_learning_rate, beta_1, beta_2) of the two Adams;
        ``balance_ratio``: a ``BalanceRatio`` or None (the default window); ``d_controller``:
        a callable (e.g. the gin-configured ``DensityController`` class) given the run's
        facts, or None. Weights are initialised from ``seed``.
        """
        g_learning_rate, d_learning_rate, beta_1, beta_2 = optimizer
        conditional_classes = num_classes if registry.is_conditional(model) else 0
        keras.utils.set_random_seed(seed)
        with strategy.scope():
            G, D = registry.build_gan(model, image_shape=image_shape,
                                      num_classes=conditional_classes)
            G_ema, _ = registry.build_gan(model, image_shape=image_shape,
                                          num_classes=conditional_classes, generator_only=True)
            g_optimizer = keras.optimizers.Adam(g_learning_rate, beta_1=beta_1, beta_2=beta_2,
                                                name="g_adam")
            d_optimizer = keras.optimizers.Adam(d_learning_rate, beta_1=beta_1, beta_2=beta_2,
                                                name="d_adam")
            g_optimizer.build(G.trainable_variables)
            d_optimizer.build(D.trainable_variables)
            state = cls(G, D, G_ema, g_optimizer, d_optimizer)
            state.balance_ratio = balance_ratio or BalanceRatio()
            state.flops = FlopsAccountant(layer_flops(G), layer_flops(D), recipe.gen_batch_size,
                                          recipe.disc_batch_size, recipe.n_critic)
            if d_controller is not None:
                state.d_controller = d_controller(initial_density=recipe.d_density,
                                                  num_iterations=recipe.num_iterations,
                                                  n_critic=recipe.n_critic)
        return state

    @property
    def num_classes(self):
        return getattr(self.G, "num_classes", 0)

    @property
    def latent_dim(self):
        return self.G.latent_dim

    def checkpoint_items(self):
        """The named trackables of the checkpoint (names unchanged since the first release)."""
        items = {"G": self.G, "D": self.D, "G_ema": self.G_ema, "g_optimizer": self.g_optimizer,
                 "d_optimizer": self.d_optimizer, "iteration": self.iteration,
                 "nan_skips": self.nan_skips, "config_fingerprint": self.config_fingerprint,
                 "g_itop": self.g_itop, "d_itop": self.d_itop,
                 "balance_ratio": self.balance_ratio, "flops": self.flops}
        if self.d_controller is not None:
            items["d_controller"] = self.d_controller
        return items

    def float_variables(self):
        """Every checkpointed floating-point variable (what the NaN guard checks before a save)."""
        variables = (self.G.weights + self.D.weights + self.G_ema.weights
                     + self.g_optimizer.variables + self.d_optimizer.variables
                     + list(self.balance_ratio.variables) + list(self.flops.variables))
        if self.d_controller is not None:
            variables += list(self.d_controller.variables)
        return variables
