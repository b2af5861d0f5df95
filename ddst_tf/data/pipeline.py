"""The training input pipeline: per-epoch seeded shuffle, repeat, batch, prefetch; resumable and shardable."""

import numpy as np
import tensorflow as tf

PREFETCH_BATCHES = 2


def _stored_pixels(images):
    """(tensor, decode) holding ``images`` for the pipeline: as uint8 (4x smaller) when they are
    exactly ``pixels / 127.5 - 1`` of uint8 pixels, which ``decode`` maps back bit for bit;
    as float32 otherwise."""
    pixels = np.rint((images + 1.0) * 127.5)
    if pixels.min() >= 0 and pixels.max() <= 255:
        pixels = pixels.astype(np.uint8)
        if np.array_equal(pixels.astype(np.float32) / 127.5 - 1.0, images):
            return tf.constant(pixels), lambda batch: tf.cast(batch, tf.float32) / 127.5 - 1.0
    return tf.constant(images), lambda batch: batch


def _pipeline_layout(global_batch_size, input_context):
    """(number of input pipelines, this pipeline's id, its batch size, its batches per global step)."""
    if not isinstance(global_batch_size, int) or global_batch_size <= 0:
        raise ValueError(f"global_batch_size must be a positive int, got {global_batch_size!r}")
    if input_context is None:
        return 1, 0, global_batch_size, 1
    pipelines = input_context.num_input_pipelines
    return (pipelines, input_context.input_pipeline_id,
            input_context.get_per_replica_batch_size(global_batch_size),
            input_context.num_replicas_in_sync // pipelines)


def make_train_dataset(data, global_batch_size, seed=0, input_context=None, start_step=0):
    """An endless `tf.data.Dataset` of (images, labels) batches from an `ImageData`.

    Epoch `e` visits this pipeline's examples in a stateless permutation drawn from (seed,
    pipeline, e); epochs run back to back and are cut into batches (drop_remainder, so shapes
    are static); 2 batches are prefetched. The order is a pure function of (data, seed, input
    layout), so `start_step=k` yields exactly what the pipeline would yield after k global
    batches: resume a run from its step counter. `tf.train.Checkpoint(iterator=iter(ds))` also
    works on a local iterator (a `tf.distribute` DistributedIterator is not checkpointable).
    With a `tf.distribute.InputContext` it reads shard `input_pipeline_id` of
    `num_input_pipelines` and yields per-replica batches.
    """
    for name, value in (("seed", seed), ("start_step", start_step)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    pipelines, pipeline_id, batch_size, batches_per_step = _pipeline_layout(global_batch_size, input_context)
    shard = tf.range(pipeline_id, len(data), pipelines, dtype=tf.int64)
    shard_size = int(shard.shape[0])
    if shard_size < batch_size:
        raise ValueError(
            f"input pipeline {pipeline_id} of {pipelines} holds {shard_size} of {len(data)} examples, "
            f"fewer than its batch of {batch_size}; use a smaller global_batch_size or more data")
    first_epoch, offset = divmod(start_step * batches_per_step * batch_size, shard_size)
    shuffle_seed = seed * pipelines + pipeline_id

    def epoch_order(epoch, skip=0):
        seed_pair = tf.stack([tf.constant(shuffle_seed, tf.int64), tf.cast(epoch, tf.int64)])
        permutation = tf.random.experimental.stateless_shuffle(tf.range(shard_size, dtype=tf.int64), seed_pair)
        return tf.data.Dataset.from_tensor_slices(tf.gather(shard, permutation[skip:]))

    images, decode = _stored_pixels(data.images)
    labels = tf.constant(data.labels)
    later_epochs = tf.data.Dataset.counter(first_epoch + 1).flat_map(epoch_order)
    indices = epoch_order(first_epoch, offset).concatenate(later_epochs)
    return (indices
            .batch(batch_size, drop_remainder=True)
            .map(lambda index: (decode(tf.gather(images, index)), tf.gather(labels, index)))
            .prefetch(PREFETCH_BATCHES))


def train_dataset_fn(data, global_batch_size, seed=0, start_step=0):
    """A `dataset_fn(input_context)` for `strategy.distribute_datasets_from_function`."""
    def dataset_fn(input_context):
        return make_train_dataset(data, global_batch_size, seed, input_context, start_step)

    return dataset_fn
