"""Evaluate a generator: sample it, extract features, compute metrics, record the results.

Shared by `ddst-eval` (a finished run) and `PeriodicEvaluator` (during training). Metrics are
requested by family (`fid`, `kid`, `is`, `pr`) and reported as named values (`fid`; `kid`,
`kid_std`; `is`, `is_std`; `precision`, `recall`). Each value becomes one record
{metric, value, extractor, extractor_id, num_samples, num_real, iteration, split, dataset,
time, seconds}, appended to `<model_dir>/eval/metrics.csv` and `metrics.jsonl`.
"""

import csv
import datetime
import json
import math
import os
import time

import gin
import numpy as np

from ddst_tf.data import make_dataset
from ddst_tf.eval import features, metrics as metric_maths
from ddst_tf.eval.classifier_extractor import ClassifierExtractor
from ddst_tf.eval.inception_extractor import InceptionExtractor
from ddst_tf.eval.sampling import generate_samples
from ddst_tf.run_dir import RunDir

METRIC_OUTPUTS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "is": ("is", "is_std"),
    "pr": ("precision", "recall"),
}
RECORD_FIELDS = ("metric", "value", "extractor", "extractor_id", "num_samples", "num_real",
                 "iteration", "split", "dataset", "time", "seconds")
CSV_NAME = "metrics.csv"
JSONL_NAME = "metrics.jsonl"


def parse_metrics(requested):
    """Metric families from "fid,kid" or a sequence, validated, duplicates dropped, order kept."""
    names = requested.split(",") if isinstance(requested, str) else list(requested)
    names = [name.strip().lower() for name in names if name.strip()]
    unknown = [name for name in names if name not in METRIC_OUTPUTS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known metrics: {sorted(METRIC_OUTPUTS)}")
    return tuple(dict.fromkeys(names))


def metric_names(families):
    """The value names the families produce, e.g. ('fid', 'kid', 'kid_std')."""
    return tuple(name for family in families for name in METRIC_OUTPUTS[family])


def run_dataset_name():
    """The dataset name of the run whose gin config is active (GANTrainer.dataset or make_dataset.name)."""
    try:
        value = gin.query_parameter("GANTrainer.dataset")
    except ValueError:
        value = None
    if isinstance(value, str):
        return value
    if isinstance(value, gin.config.ConfigurableReference) and value.configurable.name == "make_dataset":
        return gin.query_parameter("make_dataset.name")
    raise ValueError(
        f"cannot tell the run's dataset from the gin config (GANTrainer.dataset = {value!r}); "
        f"name it explicitly (ddst-eval --dataset=..., or PeriodicEvaluator.dataset = '...')")


def load_eval_data(dataset_name, split, with_classifier_data):
    """(real images of `split`, (train_images, train_labels, test_images, test_labels) or None).

    Loaded through `make_dataset`, so the active gin bindings (image_size, fit, root, ...) apply
    as in training. The four arrays train the `classifier` extractor when `with_classifier_data`.
    """
    real = make_dataset(dataset_name, split=split)
    if not with_classifier_data:
        return real.images, None
    train = real if split == "train" else make_dataset(dataset_name, split="train")
    test = real if split == "test" else make_dataset(dataset_name, split="test")
    return real.images, (train.images, train.labels, test.images, test.labels)


def build_extractor(name, dataset_name, classifier_data=None, options=None):
    """The feature extractor `name`; `classifier` is trained on `classifier_data` (or loaded from cache).

    `options` go to the extractor: e.g. graph_path for inception, weights_path/image_size for
    squeezenet, epochs/seed/architecture/cache_dir for classifier.
    """
    options = dict(options or {})
    if name == "classifier":
        return ClassifierExtractor.for_dataset(
            dataset_name, train_test_data=classifier_data, **options)
    return features.make_extractor(name, **options)


def extractor_id(extractor):
    """Which exact network an extractor is: classifier cache key, Inception release, SqueezeNet size."""
    if extractor.name == "classifier":
        return extractor.record["key"][:16] if extractor.record else "uncached"
    if extractor.name == "inception":
        return "2015-12-05" if isinstance(extractor, InceptionExtractor) else "2015-12-05-keras"
    if extractor.name == "squeezenet":
        return f"v1.1@{extractor.image_size}"
    return ""


def check_fid_sample_counts(num_real, num_fake, dimensions):
    """FID needs more samples than feature dimensions: with fewer, a covariance is singular and
    the distance says more about the sample count than about the generator."""
    if min(num_real, num_fake) <= dimensions:
        raise ValueError(
            f"FID needs more samples than its {dimensions} feature dimensions (else a covariance "
            f"is singular); got {num_fake} generated (--num_samples, "
            f"PeriodicEvaluator.num_samples) and {num_real} real images")


def compute_metrics(real_features, fake_features, families, kid_subsets=100, kid_subset_size=1000,
                    pr_k=3, is_splits=10):
    """{value name: float} of the metric families on extractor outputs ({"pool", "logits"}).

    KID subsets and IS splits shrink to the sample counts when these are smaller.
    """
    real, fake = real_features["pool"], fake_features["pool"]
    values = {}
    for family in families:
        if family == "fid":
            check_fid_sample_counts(len(real), len(fake), real.shape[1])
            values["fid"] = metric_maths.frechet_distance_from_activations(real, fake)
        elif family == "kid":
            size = min(kid_subset_size, len(real), len(fake))
            values["kid"], values["kid_std"] = metric_maths.kernel_inception_distance_from_activations(
                real, fake, num_subsets=kid_subsets, subset_size=size)
        elif family == "is":
            if fake_features["logits"] is None:
                raise ValueError("metric 'is' needs class logits, which this feature extractor does not "
                                 "give; use features 'classifier' or the Inception graph")
            values["is"], values["is_std"] = metric_maths.classifier_score_and_std_from_logits(
                fake_features["logits"], num_splits=min(is_splits, len(fake)))
        elif family == "pr":
            values["precision"], values["recall"] = metric_maths.precision_recall_from_activations(
                real, fake, k=pr_k)
        else:
            raise ValueError(f"unknown metric {family!r}; known metrics: {sorted(METRIC_OUTPUTS)}")
    return {name: float(value) for name, value in values.items()}


def make_records(values, extractor, *, num_samples, num_real, iteration, split, dataset, seconds):
    """One record per metric value, with what was measured, how and when."""
    common = {
        "extractor": extractor.name, "extractor_id": extractor_id(extractor),
        "num_samples": int(num_samples), "num_real": int(num_real), "iteration": int(iteration),
        "split": split, "dataset": dataset,
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(float(seconds), 3),
    }
    return [{"metric": name, "value": value, **common} for name, value in values.items()]


def evaluate_generator(generator, latent_dim, num_classes, extractor, real_features, families, *,
                       num_samples, iteration, split, dataset, batch_size=100, seed=0,
                       labels="balanced"):
    """(records, images, labels): `num_samples` generated images scored against `real_features`.

    `seconds` in the records covers sampling, feature extraction and the metrics.
    """
    started = time.perf_counter()
    images, sample_classes = generate_samples(
        generator, num_samples, latent_dim, num_classes, batch_size=batch_size, labels=labels, seed=seed)
    values = compute_metrics(real_features, extractor(images), families)
    records = make_records(
        values, extractor, num_samples=num_samples, num_real=len(real_features["pool"]),
        iteration=iteration, split=split, dataset=dataset, seconds=time.perf_counter() - started)
    return records, images, sample_classes


def append_records(model_dir, records):
    """Append records to `<model_dir>/eval/metrics.csv` (header once) and `metrics.jsonl`; returns the paths."""
    eval_dir = RunDir(model_dir).eval
    os.makedirs(eval_dir, exist_ok=True)
    csv_path, jsonl_path = os.path.join(eval_dir, CSV_NAME), os.path.join(eval_dir, JSONL_NAME)
    new_csv = not os.path.isfile(csv_path) or os.path.getsize(csv_path) == 0
    with open(csv_path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RECORD_FIELDS)
        if new_csv:
            writer.writeheader()
        writer.writerows({field: record[field] for field in RECORD_FIELDS} for record in records)
    with open(jsonl_path, "a") as handle:
        for record in records:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    return csv_path, jsonl_path


def read_records(model_dir):
    """All records of `<model_dir>/eval/metrics.jsonl` in order ([] when there are none)."""
    path = os.path.join(RunDir(model_dir).eval, JSONL_NAME)
    if not os.path.isfile(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_better(value, best, lower_is_better):
    """Whether `value` beats `best` (None: nothing yet); NaN never wins."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if lower_is_better else value > best


def check_shapes_match(real_images, image_shape):
    """Raise unless generated images (shape `image_shape`) match the real images."""
    if tuple(np.shape(real_images)[1:]) != tuple(image_shape):
        raise ValueError(
            f"the generator makes images of shape {tuple(image_shape)} but the real images are "
            f"{tuple(np.shape(real_images)[1:])}; load the dataset with the run's image_size/fit")
