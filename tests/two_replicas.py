"""Run a script on a 2-replica MirroredStrategy over logical CPUs, in a fresh process.

Logical devices must be configured before TensorFlow initialises, hence the subprocess.
The script sees ``strategy``, ``tf``, ``json`` and ``os``, and prints one JSON line last.
"""

import json
import subprocess
import sys
import textwrap

PREAMBLE = textwrap.dedent("""
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
""")


def run_on_two_cpu_replicas(script, timeout=300):
    """The JSON object the script printed on its last stdout line."""
    result = subprocess.run([sys.executable, "-c", PREAMBLE + textwrap.dedent(script)],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
