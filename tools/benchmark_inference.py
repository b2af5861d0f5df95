"""Benchmark: generator inference latency and model size, dense vs sparse, SavedModel vs TFLite.

The paper-size sngan32 generator (gf_dim 256, 32x32x3) is built twice: dense, and
sparse at density 0.1 with ERK masks (ddst_tf.sparse.initialization.SparseInit).
Both are stripped (masks folded into the kernels) and exported as a SavedModel
(ddst-export's signatures) and as TFLite (float32; the sparse one with and without
EXPERIMENTAL_SPARSITY). All variants are loaded in ONE process and timed in
interleaved rounds (every variant once per round) so background load hits them
alike; latencies are medians over rounds, ratios are against the dense SavedModel.

    .venv/bin/python tools/benchmark_inference.py --out=benchmarks/inference.json
"""

import json
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_float("density", 0.1, "Global density of the sparse generator (ERK).")
flags.DEFINE_list("batches", ["1", "64"], "Batch sizes to time.")
flags.DEFINE_integer("rounds", 7, "Interleaved timing rounds.")
flags.DEFINE_float("seconds_per_call_block", 0.3,
                   "Each variant is called repeatedly for about this long per round.")
flags.DEFINE_integer("tflite_threads", os.cpu_count(), "TFLite interpreter threads.")
flags.DEFINE_string("out", "benchmarks/inference.json", "Where to write the results.")

BASELINE = "saved_model_dense"


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def build_generators(density):
    """(dense, sparse) stripped paper-size sngan32 generators."""
    from ddst_tf.export.strip import strip
    from ddst_tf.models import registry
    from ddst_tf.sparse import view
    from ddst_tf.sparse.initialization import SparseInit
    dense = registry.build_generator("sngan32", image_shape=(32, 32, 3))
    sparse = registry.build_generator("sngan32", image_shape=(32, 32, 3))
    SparseInit("erk", density).apply(sparse, seed=0)
    layers = view.masked_layers(sparse)
    info = {"masked_params": sum(view.layer_sizes(layers)),
            "nonzero_params": int(view.total_nnz(layers)),
            "params": int(sum(w.numpy().size for w in sparse.weights
                              if "mask" not in w.path and "sn_u" not in w.path)),
            "layer_densities": view.layer_densities(layers)}
    return strip(dense), strip(sparse), info


class SavedModelRunner:
    """serving_default of a SavedModel on a fixed latent batch."""

    def __init__(self, path, z):
        import tensorflow as tf
        self.serve = tf.saved_model.load(path).signatures["serving_default"]
        self.z = tf.constant(z)

    def __call__(self):
        return self.serve(z=self.z)["images"].numpy()


class TFLiteRunner:
    """A TFLite interpreter resized to a fixed latent batch."""

    def __init__(self, content, z):
        from ddst_tf.export.tflite import make_interpreter
        self.interpreter = make_interpreter(content, num_threads=FLAGS.tflite_threads)
        (self.input,) = self.interpreter.get_input_details()
        self.interpreter.resize_tensor_input(self.input["index"], z.shape)
        self.interpreter.allocate_tensors()
        (self.output,) = self.interpreter.get_output_details()
        self.z = z

    def __call__(self):
        self.interpreter.set_tensor(self.input["index"], self.z)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])


def export_variants(dense, sparse, workdir):
    """{variant: (kind, SavedModel path or TFLite bytes, size in bytes)} and conversion times."""
    from ddst_tf.export import tflite
    from ddst_tf.export.savedmodel import export_saved_model
    variants, seconds = {}, {}
    for name, model in (("dense", dense), ("sparse", sparse)):
        start = time.perf_counter()
        path = export_saved_model(model, os.path.join(workdir, name), 128)
        seconds[f"saved_model_{name}"] = time.perf_counter() - start
        variants[f"saved_model_{name}"] = ("saved_model", path, directory_bytes(path))
    for name, model, sparsity in (("dense", dense, False), ("sparse_dense_weights", sparse, False),
                                  ("sparse", sparse, True)):
        start = time.perf_counter()
        content = tflite.convert_generator(model, 128, sparsity=sparsity)
        seconds[f"tflite_{name}"] = time.perf_counter() - start
        variants[f"tflite_{name}"] = ("tflite", content, len(content))
    return variants, seconds


def time_variants(runners, rounds, block_seconds):
    """{variant: median seconds per call}, variants interleaved within every round."""
    calls = {}
    for name, run in runners.items():  # warm up, then size the blocks to ~block_seconds
        run()
        start = time.perf_counter()
        run()
        calls[name] = max(1, round(block_seconds / (time.perf_counter() - start)))
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                run()
            samples[name].append((time.perf_counter() - start) / calls[name])
    return {name: statistics.median(values) for name, values in samples.items()}, calls


def markdown(result):
    batches = result["batches"]
    head = ["variant", "size (bytes)", "size ratio"] + [
        f"batch {b}: ms/call (ratio)" for b in batches]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in result["variants"].items():
        cells = [name, f"{row['bytes']:,}", f"{row['size_ratio']:.3f}"] + [
            f"{row['latency_ms'][str(b)]:.2f} ({row['latency_ratio'][str(b)]:.2f})"
            for b in batches]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf
    from ddst_tf.export import tflite
    wall, load_at_start = time.perf_counter(), os.getloadavg()
    batches = [int(b) for b in FLAGS.batches]
    dense, sparse, model_info = build_generators(FLAGS.density)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as workdir:
        variants, conversion_seconds = export_variants(dense, sparse, workdir)
        check_z = rng.normal(size=(4, 128)).astype(np.float32)
        expected = {"dense": dense(check_z, training=False).numpy(),
                    "sparse": sparse(check_z, training=False).numpy()}
        rows, runners_by_batch = {}, {}
        for name, (kind, artifact, size) in variants.items():
            make = SavedModelRunner if kind == "saved_model" else TFLiteRunner
            reference = expected["dense" if name.endswith("_dense") else "sparse"]
            rows[name] = {"bytes": size, "max_abs_diff_vs_keras": float(
                np.max(np.abs(make(artifact, check_z)() - reference)))}
            if kind == "tflite":
                rows[name]["sparse_tensors"] = len(tflite.sparse_tensor_names(artifact))
            for batch in batches:
                z = rng.normal(size=(batch, 128)).astype(np.float32)
                runners_by_batch.setdefault(batch, {})[name] = make(artifact, z)
        calls_per_block = {}
        for batch, runners in runners_by_batch.items():
            medians, calls = time_variants(runners, FLAGS.rounds, FLAGS.seconds_per_call_block)
            calls_per_block[str(batch)] = calls
            for name, seconds in medians.items():
                rows[name].setdefault("latency_ms", {})[str(batch)] = 1e3 * seconds
    for row in rows.values():
        row["size_ratio"] = row["bytes"] / rows[BASELINE]["bytes"]
        row["latency_ratio"] = {b: ms / rows[BASELINE]["latency_ms"][b]
                                for b, ms in row["latency_ms"].items()}
    result = {
        "model": "sngan32 generator, paper size (gf_dim 256, latent 128, 32x32x3)",
        "density": FLAGS.density, "sparse_init": "erk", **model_info,
        "baseline": BASELINE, "batches": batches, "rounds": FLAGS.rounds,
        "calls_per_block": calls_per_block,
        "conversion_seconds": conversion_seconds,
        "variants": rows,
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg(),
                    "python": platform.python_version(), "tensorflow": tf.__version__},
        "notes": "float32 everywhere; TFLite via tf.lite.Interpreter (XNNPACK delegate, "
                 f"{FLAGS.tflite_threads} threads), whose DENSIFY ops expand sparse-encoded "
                 "kernels once at load (sparsity saves storage, not compute); SavedModel via "
                 "tf.saved_model.load serving_default; latency = median over interleaved "
                 "rounds of the mean per call in a block.",
        "total_seconds": time.perf_counter() - wall,
    }
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
    with open(FLAGS.out, "w") as f:
        json.dump(result, f, indent=2)
    print(markdown(result))
    print(f"\nwritten to {FLAGS.out} in {result['total_seconds']:.0f} s")


if __name__ == "__main__":
    app.run(main)
