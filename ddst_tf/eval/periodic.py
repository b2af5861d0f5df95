"""Evaluation during training: metrics every N iterations and the best checkpoint kept on disk.

Enable it with gin: `GANTrainer.evaluator = @PeriodicEvaluator()` and
`PeriodicEvaluator.every = 5000`. The trainer calls `maybe_evaluate` right after each
checkpoint save with what to evaluate (an `EvaluationTarget`) and the checkpoint just saved,
so `every` should be a multiple of `GANTrainer.checkpoint_every`.

`<model_dir>/best/` mirrors a run directory (config.gin, model.json, checkpoints/ with the one
best checkpoint, best.json), so `ddst-eval` and `ddst-export --model_dir=<model_dir>/best` work
on it. It is rebuilt in a temporary directory and swapped in by rename; best.json is the
state that survives a restart.
"""

import dataclasses
import glob
import json
import os
import shutil
import tempfile

import gin
import tensorflow as tf
from absl import logging

from ddst_tf import validation
from ddst_tf.eval import evaluate
from ddst_tf.eval.features import EXTRACTORS, gives_logits, no_logits_message
from ddst_tf.eval.sampling import LABEL_MODES
from ddst_tf.run_dir import BEST_RECORD, REBUILD_FILES, RunDir


@dataclasses.dataclass(frozen=True)
class EvaluationTarget:
    """What a periodic evaluation scores: a run's EMA generator, and where its run lives."""

    generator: object
    latent_dim: int
    num_classes: int
    image_shape: tuple
    model_dir: str
    num_iterations: int


def read_best(model_dir):
    """The dict of `<model_dir>/best/best.json`, or None when no best checkpoint was kept yet."""
    path = os.path.join(RunDir(model_dir).best, BEST_RECORD)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def save_best(model_dir, checkpoint_prefix, record):
    """Copy checkpoint `checkpoint_prefix` and the run files to `<model_dir>/best`; best.json = `record`."""
    files = glob.glob(glob.escape(checkpoint_prefix) + ".*")
    if not any(path.endswith(".index") for path in files):
        raise FileNotFoundError(f"no checkpoint files at {checkpoint_prefix!r} to keep as the best")
    partial = tempfile.mkdtemp(prefix=".best.partial-", dir=model_dir)
    try:
        checkpoints = RunDir(partial).checkpoints
        os.makedirs(checkpoints)
        for path in files:
            shutil.copy2(path, checkpoints)
        name = os.path.basename(checkpoint_prefix)
        with open(RunDir(partial).checkpoint_state, "w") as handle:
            handle.write(f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n')
        for run_file in REBUILD_FILES:
            if os.path.isfile(os.path.join(model_dir, run_file)):
                shutil.copy2(os.path.join(model_dir, run_file), partial)
        with open(os.path.join(partial, BEST_RECORD), "w") as handle:
            json.dump({**record, "checkpoint": name}, handle, indent=2, sort_keys=True)
        best = RunDir(model_dir).best
        retired = None
        if os.path.exists(best):
            retired = tempfile.mkdtemp(prefix=".best.retired-", dir=model_dir)
            os.rename(best, os.path.join(retired, os.path.basename(best)))
        os.rename(partial, best)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if retired:
        shutil.rmtree(retired, ignore_errors=True)
    return best


def update_best(model_dir, checkpoint_prefix, records, metric, lower_is_better=True):
    """Keep `checkpoint_prefix` as the best if its `metric` record beats best.json; returns whether it did.

    A kept best measured differently (other metric, extractor, split or sample count) is not
    comparable and is replaced.
    """
    record = next((r for r in records if r["metric"] == metric), None)
    if record is None:
        raise ValueError(f"no {metric!r} among the records {[r['metric'] for r in records]}")
    best = read_best(model_dir)
    comparable = best is not None and all(
        best.get(key) == record[key] for key in ("metric", "extractor_id", "split", "num_samples"))
    if not evaluate.is_better(record["value"], best["value"] if comparable else None, lower_is_better):
        return False
    save_best(model_dir, checkpoint_prefix, {**record, "lower_is_better": bool(lower_is_better)})
    return True


@gin.configurable
class PeriodicEvaluator:
    """Scores the EMA generator every `every` iterations (and at the last one) against held-out data.

    Results go to `<model_dir>/eval/metrics.{csv,jsonl}` and TensorBoard `eval/<metric>`;
    `best_metric` (None: keep no best) picks the checkpoint kept in `<model_dir>/best`.
    `extractor_options` go to the feature extractor (e.g. {'graph_path': ...} for inception,
    {'epochs': 5} for classifier). The classifier trains on the dataset's train split. Every
    evaluation draws the same latents (`seed`), and the real features are computed once.
    """

    def __init__(self, every=gin.REQUIRED, metrics=("fid", "kid"), features="classifier",
                 num_samples=5000, dataset=None, split="test", best_metric="fid",
                 lower_is_better=True, batch_size=100, seed=0, labels="balanced",
                 extractor_options=None):
        every = validation.positive_int("PeriodicEvaluator.every", every)
        num_samples = validation.integer("PeriodicEvaluator.num_samples", num_samples, minimum=2)
        if features not in EXTRACTORS:
            raise ValueError(f"unknown features {features!r}; known extractors: {sorted(EXTRACTORS)}")
        if labels not in LABEL_MODES:
            raise ValueError(f"labels must be one of {LABEL_MODES}, got {labels!r}")
        self.families = evaluate.parse_metrics(metrics)
        if not self.families:
            raise ValueError(f"metrics must name at least one of {sorted(evaluate.METRIC_OUTPUTS)}")
        if "is" in self.families and not gives_logits(features, extractor_options):
            raise validation.InvalidValueError(no_logits_message(
                features, "PeriodicEvaluator.extractor_options = {'graph_path': PATH}"))
        produced = evaluate.metric_names(self.families)
        if best_metric is not None and best_metric not in produced:
            raise ValueError(
                f"best_metric {best_metric!r} is not computed by metrics={self.families}; "
                f"choose one of {list(produced)} or None")
        self.every = every
        self.features = features
        self.num_samples = num_samples
        self.dataset = dataset
        self.split = split
        self.best_metric = best_metric
        self.lower_is_better = bool(lower_is_better)
        self.batch_size = batch_size
        self.seed = seed
        self.labels = labels
        self.extractor_options = dict(extractor_options or {})
        self._extractor = None
        self._real_features = None

    def check_schedule(self, checkpoint_every):
        """Warn unless evaluations fall on checkpoints (the trainer offers them only there)."""
        if self.every % checkpoint_every:
            logging.warning("PeriodicEvaluator.every = %d is not a multiple of GANTrainer.checkpoint_every "
                            "= %d: the trainer offers evaluations only at checkpoints", self.every,
                            checkpoint_every)

    def should_evaluate(self, step, num_iterations):
        return step % self.every == 0 or step == num_iterations

    def maybe_evaluate(self, step, target, checkpoint_path):
        """Evaluate `target` at this iteration if due (`checkpoint_path`: the checkpoint just
        saved, kept as the best if it wins); returns the records written or None."""
        if not self.should_evaluate(step, target.num_iterations):
            return None
        return self.evaluate(step, target, checkpoint_path)

    def evaluate(self, step, target, checkpoint_path):
        """Score, append the records, write `eval/<metric>` scalars and update the best checkpoint."""
        dataset = self.dataset or evaluate.run_dataset_name()
        self._prepare(dataset, target.image_shape)
        records, _, _ = evaluate.evaluate_generator(
            target.generator, target.latent_dim, target.num_classes, self._extractor,
            self._real_features, self.families, num_samples=self.num_samples, iteration=step,
            split=self.split, dataset=dataset, batch_size=self.batch_size, seed=self.seed,
            labels=self.labels)
        evaluate.append_records(target.model_dir, records)
        for record in records:
            tf.summary.scalar(f"eval/{record['metric']}", record["value"], step=step,
                              description=f"{record['metric']} of the EMA generator: "
                                          f"{record['extractor']} features, "
                                          f"{record['num_samples']} samples vs the "
                                          f"{record['split']} split.")
        logging.info("iteration %d eval (%s, %d samples, %.1f s): %s", step, self.features,
                     self.num_samples, records[0]["seconds"],
                     ", ".join(f"{r['metric']} {r['value']:.4f}" for r in records))
        if self.best_metric is not None and update_best(
                target.model_dir, checkpoint_path, records, self.best_metric,
                self.lower_is_better):
            logging.info("iteration %d is the best so far by %s; kept in %s", step,
                         self.best_metric, RunDir(target.model_dir).best)
        return records

    def _prepare(self, dataset, image_shape):
        """Build the extractor and the real features once per evaluator."""
        if self._extractor is not None:
            return
        real_images, classifier_data = evaluate.load_eval_data(
            dataset, self.split, self.features == "classifier")
        evaluate.check_shapes_match(real_images, image_shape)
        self._extractor = evaluate.build_extractor(
            self.features, dataset, classifier_data, self.extractor_options)
        if self.features == "classifier":
            logging.info("eval classifier %s: test accuracy %.4f",
                         evaluate.extractor_id(self._extractor),
                         self._extractor.record["test_accuracy"])
        self._real_features = self._extractor(real_images)
