"""tf.distribute strategies by name, for the command line and gin, and who writes files.

``default`` (one device), ``mirrored`` (all local GPUs, or ``num_cpu_devices``
logical CPUs for testing), ``multi_worker`` (workers from ``TF_CONFIG``) and
``tpu`` (a TPU cluster resolver; the replica steps use no host-only ops).
Under ``multi_worker`` only the chief writes the run's files; the other workers
write their share of a checkpoint to a temporary directory (TF's rule).
"""

import json
import os
import socket

import gin
import tensorflow as tf

from ddst_tf import validation

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def split_cpu(num_devices):
    """Expose ``num_devices`` logical CPUs; must run before TensorFlow uses a device."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


@gin.configurable
def make_strategy(name="default", num_cpu_devices=0, tpu=""):
    """The strategy called ``name``; ``num_cpu_devices`` > 1 splits the CPU (mirrored).

    Call it before TensorFlow runs any op (logical devices and collectives are set
    up once per process).
    """
    validation.one_of("--strategy", name, STRATEGIES)
    validation.non_negative_int("--num_cpu_devices", num_cpu_devices)
    if num_cpu_devices > 1 and name != "mirrored":
        raise ValueError(f"num_cpu_devices={num_cpu_devices} needs --strategy=mirrored; got "
                         f"strategy {name!r}")
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


def is_chief(strategy):
    """Whether this process writes the run's files (checkpoints, summaries, samples, JSON).

    True for every strategy except on the non-chief workers of a multi-worker cluster
    (the chief is task ``chief``, else ``worker`` 0).
    """
    return bool(strategy.extended.should_checkpoint)


def write_dir(directory, strategy):
    """Where this process saves what belongs in ``directory``.

    The chief writes ``directory`` itself; another worker writes the sibling
    ``<directory>_workertemp_<task id>``, which it deletes after the save.
    """
    if is_chief(strategy):
        return directory
    return f"{os.path.normpath(directory)}_workertemp_{strategy.cluster_resolver.task_id}"


def local_cluster_tf_configs(num_workers):
    """TF_CONFIG values for ``num_workers`` workers on 127.0.0.1, one per worker index.

    Ports are ones the OS hands out for port 0, held open together so they differ;
    for tests and benchmarks of MultiWorkerMirroredStrategy on one machine.
    """
    sockets = [socket.socket() for _ in range(num_workers)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        workers = [f"127.0.0.1:{sock.getsockname()[1]}" for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
            for i in range(num_workers)]
