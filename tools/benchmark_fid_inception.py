"""Benchmark: the Keras FID Inception port on this CPU (images/s at batch 50, a 10k-sample FID).

Images are the CIFAR-10 JPEG copy (32x32, resized to 299x299 inside the extractor as in the
TF graph). Throughput: the median over --rounds calls on one batch of --batch_size, after a
warm-up call. FID: pool_3 of --num_samples test images and of as many train images (every
k-th, so all classes appear), then the Frechet distance; each phase is timed. The load average
is recorded before and after, since other jobs may share the cores.

    .venv/bin/python tools/benchmark_fid_inception.py --out=benchmarks/fid_inception.json
"""

import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch_size", 50, "Extractor batch size.")
flags.DEFINE_integer("rounds", 7, "Timed calls on one batch for the throughput.")
flags.DEFINE_integer("num_samples", 10000, "Images per side of the FID (0: throughput only).")
flags.DEFINE_string("out", "benchmarks/fid_inception.json", "Where to write the results.")

FULL_EVALUATION_IMAGES = 100_000  # 50k generated samples + 50k train images, the paper's protocol


def load_average():
    """(1, 5, 15)-minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def throughput(extractor, images, batch_size, rounds):
    """Median seconds of one `extractor(images[:batch_size])` call over `rounds`, after a warm-up."""
    batch = images[:batch_size]
    extractor(batch, batch_size=batch_size)
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        extractor(batch, batch_size=batch_size)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), seconds


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import tensorflow as tf

    from ddst_tf.data import make_dataset
    from ddst_tf.eval import metrics
    from ddst_tf.eval.inception_extractor import FidInceptionExtractor

    results = {"dataset": "CIFAR-10 (JPEG copy)", "extractor": "inception (Keras port, fid_inception)",
               "batch_size": FLAGS.batch_size, "cpu_count": os.cpu_count(), "machine": platform.machine(),
               "tensorflow": tf.__version__, "load_average_start": load_average()}
    extractor, results["load_seconds"] = timed(FidInceptionExtractor)
    test = make_dataset("cifar10_jpeg", split="test").images
    median, seconds = throughput(extractor, test, FLAGS.batch_size, FLAGS.rounds)
    results.update({"batch_seconds_median": median, "batch_seconds": seconds,
                    "images_per_second": FLAGS.batch_size / median})
    if FLAGS.num_samples:
        train = make_dataset("cifar10_jpeg", split="train").images
        train = train[::len(train) // FLAGS.num_samples][:FLAGS.num_samples]
        test = test[:FLAGS.num_samples]
        test_pool, test_seconds = timed(extractor, test, batch_size=FLAGS.batch_size)
        train_pool, train_seconds = timed(extractor, train, batch_size=FLAGS.batch_size)
        fid, fid_seconds = timed(metrics.frechet_distance_from_activations, train_pool["pool"], test_pool["pool"])
        per_image = (test_seconds + train_seconds) / (2 * FLAGS.num_samples)
        results.update({
            "num_samples": FLAGS.num_samples, "fid_train_vs_test": float(fid),
            "features_seconds": {"test": test_seconds, "train": train_seconds}, "fid_maths_seconds": fid_seconds,
            "fid_seconds_total": test_seconds + train_seconds + fid_seconds,
            "images_per_second_in_fid": 1.0 / per_image,
            "full_50k_evaluation_hours_estimate": FULL_EVALUATION_IMAGES * per_image / 3600})
    results["load_average_end"] = load_average()
    with open(FLAGS.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    app.run(main)
