"""One worker of the 2-process MultiWorkerMirroredStrategy test (tests/test_multi_worker.py).

    TF_CONFIG=... python tests/multi_worker_main.py CONFIG.gin MODEL_DIR DUMP.npz

Trains GANTrainer from CONFIG.gin under ``multi_worker`` and dumps this worker's
copy of every model, optimizer and sparsity variable to DUMP.npz (keys in a
fixed order) plus a sha256 of them in DUMP.json.
"""

import hashlib
import json
import os
import sys

import numpy as np


def local_variables(trainer):
    """(name, value) of every variable this worker holds, in a fixed order."""
    keras_vars = (trainer.state.G.weights + trainer.state.D.weights + trainer.state.G_ema.weights
                  + trainer.state.g_optimizer.variables + trainer.state.d_optimizer.variables)
    other = (trainer.state.g_itop.ever_active + trainer.state.d_itop.ever_active
             + list(trainer.state.balance_ratio.variables) + list(trainer.state.d_controller.variables))
    return ([(v.path, v.numpy()) for v in keras_vars]
            + [(v.name, v.numpy()) for v in other])


def main(config_path, model_dir, dump_path):
    from ddst_tf import config
    from ddst_tf.training.strategies import is_chief, make_strategy
    strategy = make_strategy("multi_worker")
    config.parse([config_path], [])
    from ddst_tf.training.trainer import GANTrainer
    trainer = GANTrainer(model_dir=model_dir, strategy=strategy)
    trainer.train()
    arrays = {f"{index:03d}/{name}": value
              for index, (name, value) in enumerate(local_variables(trainer))}
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(arrays[key].tobytes())
    np.savez(dump_path, **arrays)
    controller = trainer.state.d_controller
    with open(os.path.splitext(dump_path)[0] + ".json", "w") as f:
        json.dump({"sha256": digest.hexdigest(), "is_chief": is_chief(strategy),
                   "replicas": strategy.num_replicas_in_sync,
                   "iteration": int(trainer.state.iteration.numpy()),
                   "d_num_changes": int(controller.num_changes.numpy()),
                   "d_num_dst": int(controller.num_dst.numpy()),
                   "g_optimizer_steps": int(trainer.state.g_optimizer.iterations.numpy())}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
