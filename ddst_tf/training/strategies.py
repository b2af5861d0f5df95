"""tf.distribute strategies by name, for the command line and gin.

``default`` (one device), ``mirrored`` (all local GPUs, or ``num_cpu_devices``
logical CPUs for testing), ``multi_worker`` (workers from ``TF_CONFIG``) and
``tpu`` (a TPU cluster resolver; the training step uses no host-only ops).
"""

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def split_cpu(num_devices):
    """Expose ``num_devices`` logical CPUs; must run before TensorFlow uses a device."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def make_strategy(name="default", num_cpu_devices=0, tpu=""):
    """The strategy called ``name``; ``num_cpu_devices`` > 1 splits the CPU (mirrored)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; known strategies: {list(STRATEGIES)}")
    if num_cpu_devices < 0:
        raise ValueError(f"num_cpu_devices must be >= 0; got {num_cpu_devices}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if num_cpu_devices > 1:
            split_cpu(num_cpu_devices)
            devices = [f"/cpu:{i}" for i in range(num_cpu_devices)]
            return tf.distribute.MirroredStrategy(devices)
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
