"""The training latents: a stateless function of (seed, NaN skips, iteration, draw), per replica.

Each iteration numbers its latent batches ("draws"): 0..n_critic-1 for the D steps, n_critic
for the G step (and its BR sample), n_critic+1 and n_critic+2 for the G and D growth gradients.
A draw is made for the whole global batch and sliced by replica id, so N replicas together see
exactly the single-device latents, and a resumed run replays the same numbers. Each NaN skip
moves the seed, so a rolled-back run draws new latents.
"""

import tensorflow as tf

# Latent draws per iteration are numbered inside this stride.
DRAWS_PER_ITERATION = 1024
# Each NaN skip moves the latent seed by this much.
NAN_SKIP_SEED_STRIDE = 2 ** 32


class LatentSampler:
    """Latents (and fake class labels for conditional models) of one training run."""

    def __init__(self, seed, latent_dim, num_classes, iteration, nan_skips, strategy):
        self.seed = int(seed)
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self._iteration = iteration
        self._nan_skips = nan_skips
        self._strategy = strategy

    @staticmethod
    def max_n_critic():
        """The largest n_critic whose draws (plus G, G growth, D growth) fit the stride."""
        return DRAWS_PER_ITERATION - 3

    def __call__(self, global_batch, draw):
        """This replica's slice of the current iteration's ``draw``-th global latent batch.

        Returns (z, labels); labels is None for unconditional models.
        """
        replicas = self._strategy.num_replicas_in_sync
        batch = global_batch // replicas
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed = tf.stack([tf.constant(self.seed, tf.int64)
                         + tf.cast(self._nan_skips, tf.int64) * NAN_SKIP_SEED_STRIDE,
                         tf.cast(self._iteration, tf.int64) * DRAWS_PER_ITERATION + draw])
        start = tf.cast(replica, tf.int32) * batch
        z = tf.random.stateless_normal([global_batch, self.latent_dim], seed=seed)
        z = tf.slice(z, [start, 0], [batch, self.latent_dim])
        if not self.num_classes:
            return z, None
        labels = tf.random.stateless_uniform([global_batch], seed=seed + [0, 1], minval=0,
                                             maxval=self.num_classes, dtype=tf.int32)
        return z, tf.slice(labels, [start], [batch])
