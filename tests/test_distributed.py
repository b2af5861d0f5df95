"""GANTrainer under MirroredStrategy over 2 logical CPUs: equivalence, replica agreement, resume.

Logical devices must be configured before TensorFlow initialises, so the
scenarios run in one subprocess (this file run as a script) that dumps what it
measured; the tests assert on the dumps. The subprocess also checks the step
for host-only ops (the TPU-compatibility rule).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_SECONDS = 240

CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")
# Host-only ops that must not appear in the compiled step (TPU rule).
HOST_ONLY_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "PrintV2", "Print",
                 "StringFormat", "WriteScalarSummary", "WriteSummary", "WriteImageSummary",
                 "WriteHistogramSummary"}
# |mirrored - default| after one iteration with synchronized BN (measured max 8.6e-8: float32
# reduction order); masks must be identical.
EQUIVALENCE_ATOL = 1e-6


# ------------------------------------------------------------ subprocess side

def _trainer(model_dir, strategy):
    from ddst_tf.training.trainer import GANTrainer
    return GANTrainer(model_dir=model_dir, strategy=strategy)


def _variables(trainer):
    """Every model, optimizer and sparsity variable, in a fixed order, as a tf variable
    (the controller's too: the trainer builds it in the strategy's scope)."""
    state = trainer.state
    keras_vars = (state.G.weights + state.D.weights + state.G_ema.weights
                  + state.g_optimizer.variables + state.d_optimizer.variables)
    other = (state.g_itop.ever_active + state.d_itop.ever_active
             + list(state.balance_ratio.variables) + list(state.d_controller.variables))
    return [(v.path, v.value) for v in keras_vars] + [(v.name, v) for v in other]


def _replica_values(strategy, variable):
    return [np.asarray(v.numpy()) for v in strategy.experimental_local_results(variable)]


def _host_only_ops(concrete):
    graph_def = concrete.graph.as_graph_def()
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops |= {node.op for node in function.node_def}
    return sorted(ops & HOST_ONLY_OPS), len(ops)


def _values(trainer):
    return [np.asarray(v.numpy(), np.float64) for _, v in _variables(trainer)]


def _max_difference(before, after):
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
               for a, b in zip(before, after))


def _one_iteration(trainer):
    """An iteration with every optional part (BR, G prune-and-regrow, D growth gradients)."""
    from ddst_tf.training.step import IterationPlan
    return trainer.step(trainer.iterator, IterationPlan(
        measure_br=True, update_g_masks=True, check_d_density=True))


def run_scenarios(out_dir, mirrored):
    """Equivalence, agreement and resume on one mirrored and one default trainer.

    Both trainers share model_dir and every step runs through the same few traces
    (tracing a distributed step is the slow part of this test).
    """
    import tensorflow as tf

    from ddst_tf.sparse import view
    from ddst_tf.training.step import IterationPlan
    model_dir = os.path.join(out_dir, "run")
    split = _trainer(model_dir, mirrored)
    single = _trainer(model_dir, tf.distribute.get_strategy())
    split.restore_or_initialize()
    single.restore_or_initialize()
    for target, source in [(single.state.G, split.state.G), (single.state.D, split.state.D),
                           (single.state.G_ema, split.state.G_ema)]:
        target.set_weights(source.get_weights())

    # 1. One iteration on 2 replicas vs the default strategy on the same global batch.
    arrays = {}
    for name, trainer in [("mirrored", split), ("default", single)]:
        out = _one_iteration(trainer)
        for index, weight in enumerate(trainer.state.G.weights + trainer.state.D.weights):
            arrays[f"{name}/{index:03d}/{weight.path}"] = weight.numpy()
        for key in ("d_loss", "g_loss", "br_sample", "g_turnover"):
            arrays[f"{name}_out/{key}"] = out[key].numpy()
        for index, gradient in enumerate(out["d_gradients"]):
            arrays[f"{name}_out/d_gradients/{index}"] = gradient.numpy()
    np.savez(os.path.join(out_dir, "equivalence.npz"), **arrays)
    report = {"replicas": mirrored.num_replicas_in_sync}

    # 2. A short strict ADAPT run on 2 replicas: G updates, D grows, then D-DST.
    split.restore_or_initialize()
    g_masks = view.get_masks(split.state.g_layers)
    split.train()
    controller = split.state.d_controller
    report["agreement"] = {
        "g_masks_changed": any(not np.array_equal(g_masks[k], m)
                               for k, m in view.get_masks(split.state.g_layers).items()),
        "d_density": float(controller.density.numpy()),
        "d_num_changes": int(controller.num_changes.numpy()),
        "d_num_dst": int(controller.num_dst.numpy()),
        "d_mask_density": float(view.global_density(split.state.d_layers)),
        "br_count": int(split.state.balance_ratio.count.numpy())}
    arrays = {}
    for index, (name, variable) in enumerate(_variables(split)):
        for replica, value in enumerate(_replica_values(mirrored, variable)):
            arrays[f"{index:03d}/{name}/replica{replica}"] = value
    np.savez(os.path.join(out_dir, "agreement.npz"), **arrays)
    found, count = _host_only_ops(split.step.concrete_function(split.iterator, IterationPlan(
        measure_br=True, update_g_masks=True, check_d_density=True)))
    report["step_ops"] = {"host_only": found, "op_types": count}

    # 3. The 2-replica checkpoint restores into 1 replica, which trains and saves; that
    #    checkpoint restores into 2 replicas, which train on.
    saved = _values(split)
    single.restore_or_initialize()
    resume = {"one_from_two_iteration": int(single.state.iteration.numpy()),
              "one_from_two_max_diff": _max_difference(saved, _values(single))}
    _one_iteration(single)
    single.save_checkpoint()
    saved = _values(single)
    split.restore_or_initialize()
    resume.update(two_from_one_iteration=int(split.state.iteration.numpy()),
                  two_from_one_max_diff=_max_difference(saved, _values(split)))
    _one_iteration(split)
    resume["final_iteration"] = int(split.state.iteration.numpy())
    resume["replica_max_diff_after"] = max(
        _max_difference(*([value] for value in _replica_values(mirrored, variable)))
        for _, variable in _variables(split))
    resume["checkpoints"] = sorted(os.listdir(os.path.join(model_dir, "checkpoints")))
    report["resume"] = resume
    return report


def main(out_dir):
    from ddst_tf import config
    from ddst_tf.training.strategies import make_strategy
    mirrored = make_strategy("mirrored", num_cpu_devices=2)
    config.parse([CONFIG], [])
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    start = time.perf_counter()
    report = run_scenarios(out_dir, mirrored)
    report["seconds"] = time.perf_counter() - start
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)


# ------------------------------------------------------------------ tests

@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp("mirrored"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, os.path.abspath(__file__), out_dir],
                            capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                            env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    with open(os.path.join(out_dir, "report.json")) as f:
        return out_dir, json.load(f)


def test_one_mirrored_iteration_equals_default_strategy_on_the_global_batch(measured):
    out_dir, report = measured
    assert report["replicas"] == 2
    arrays = np.load(os.path.join(out_dir, "equivalence.npz"))
    mirrored = sorted(k for k in arrays.files if k.startswith("mirrored"))
    default = sorted(k for k in arrays.files if k.startswith("default"))
    assert len(mirrored) == len(default) > 20
    for a, b in zip(mirrored, default):
        assert a.split("/", 1)[1] == b.split("/", 1)[1]
        if "mask" in a:
            np.testing.assert_array_equal(arrays[a], arrays[b], err_msg=a)
        else:
            np.testing.assert_allclose(arrays[a], arrays[b], rtol=0, atol=EQUIVALENCE_ATOL,
                                       err_msg=a)
    assert np.any(arrays["mirrored_out/g_turnover"] > 0)


def test_step_has_no_host_only_ops(measured):
    _, report = measured
    assert report["step_ops"]["op_types"] > 20
    assert report["step_ops"]["host_only"] == []


@pytest.mark.parametrize("kwargs,message", [
    ({"name": "horovod"}, r"--strategy must be one of \['default'.*; got 'horovod'"),
    ({"name": "mirrored", "num_cpu_devices": -1}, "--num_cpu_devices must be an integer >= 0; got -1"),
    ({"name": "multi_worker", "num_cpu_devices": 2},
     "num_cpu_devices=2 needs --strategy=mirrored; got strategy 'multi_worker'"),
])
def test_make_strategy_rejects_bad_input(kwargs, message):
    from ddst_tf.training.strategies import make_strategy
    with pytest.raises(ValueError, match=message):
        make_strategy(**kwargs)


def test_single_process_is_the_chief_and_writes_in_place(tmp_path):
    import tensorflow as tf

    from ddst_tf.training.strategies import is_chief, make_strategy, write_dir
    strategy = make_strategy("default")
    assert strategy is tf.distribute.get_strategy()
    assert is_chief(strategy) and write_dir(str(tmp_path), strategy) == str(tmp_path)


def test_host_only_op_scan_finds_print_and_py_function_in_nested_functions():
    import tensorflow as tf

    @tf.function
    def inner(x):
        tf.print(x)
        return tf.py_function(lambda v: v, [x], tf.float32)

    @tf.function
    def outer(x):
        return inner(x) + 1.0

    found, _ = _host_only_ops(outer.get_concrete_function(tf.TensorSpec([], tf.float32)))
    assert {"PrintV2", "EagerPyFunc"} <= set(found)


def test_masks_and_weights_identical_on_both_replicas_after_adapt_strict(measured):
    out_dir, report = measured
    stats = report["agreement"]
    assert stats["g_masks_changed"]
    assert stats["d_num_changes"] == 2 and stats["d_num_dst"] == 1
    assert stats["d_density"] == pytest.approx(0.5)
    assert stats["d_mask_density"] == pytest.approx(0.5, abs=1e-3)
    assert stats["br_count"] == 21
    arrays = np.load(os.path.join(out_dir, "agreement.npz"))
    names = sorted({k.rsplit("/", 1)[0] for k in arrays.files})
    assert any("mask" in n for n in names) and any("moving_mean" in n for n in names)
    for name in names:
        np.testing.assert_array_equal(arrays[f"{name}/replica0"], arrays[f"{name}/replica1"],
                                      err_msg=name)


def test_checkpoints_resume_across_replica_counts(measured):
    _, report = measured
    resume = report["resume"]
    assert resume["one_from_two_iteration"] == 21 and resume["one_from_two_max_diff"] == 0.0
    assert resume["two_from_one_iteration"] == 22 and resume["two_from_one_max_diff"] == 0.0
    assert resume["final_iteration"] == 23 and resume["replica_max_diff_after"] == 0.0
    assert {"ckpt-21.index", "ckpt-22.index"} <= set(resume["checkpoints"])


if __name__ == "__main__":
    main(sys.argv[1])
