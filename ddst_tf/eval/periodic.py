"""Evaluation during training: metrics every N iterations and the best checkpoint kept on disk.

Enable it with gin: `GANTrainer.evaluator = @PeriodicEvaluator()` and
`PeriodicEvaluator.every = 5000`. The trainer calls `maybe_evaluate` right after each
checkpoint save, so `every` should be a multiple of `GANTrainer.checkpoint_every`.

`<model_dir>/best/` mirrors a run directory (config.gin, model.json, checkpoints/ with the one
best checkpoint, best.json), so `ddst-eval` and `ddst-export --model_dir=<model_dir>/best` work
on it. It is rebuilt in a temporary directory and swapped in by rename; best.json is the
state that survives a restart.
"""

import glob
import json
import os
import shutil
import tempfile

import gin
import tensorflow as tf
from absl import logging

from ddst_tf.eval import evaluate
from ddst_tf.eval.features import EXTRACTORS
from ddst_tf.eval.sampling import LABEL_MODES

BEST_DIR = "best"
BEST_JSON = "best.json"
RUN_FILES = ("config.gin", "model.json")


def read_best(model_dir):
    """The dict of `<model_dir>/best/best.json`, or None when no best checkpoint was kept yet."""
    path = os.path.join(model_dir, BEST_DIR, BEST_JSON)
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
        checkpoints = os.path.join(partial, "checkpoints")
        os.makedirs(checkpoints)
        for path in files:
            shutil.copy2(path, checkpoints)
        name = os.path.basename(checkpoint_prefix)
        with open(os.path.join(checkpoints, "checkpoint"), "w") as handle:
            handle.write(f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n')
        for run_file in RUN_FILES:
            if os.path.isfile(os.path.join(model_dir, run_file)):
                shutil.copy2(os.path.join(model_dir, run_file), partial)
        with open(os.path.join(partial, BEST_JSON), "w") as handle:
            json.dump({**record, "checkpoint": name}, handle, indent=2, sort_keys=True)
        best = os.path.join(model_dir, BEST_DIR)
        retired = None
        if os.path.exists(best):
            retired = tempfile.mkdtemp(prefix=".best.retired-", dir=model_dir)
            os.rename(best, os.path.join(retired, BEST_DIR))
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
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive number of iterations, got {every!r}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
            raise ValueError(f"num_samples must be an integer >= 2, got {num_samples!r}")
        if features not in EXTRACTORS:
            raise ValueError(f"unknown features {features!r}; known extractors: {sorted(EXTRACTORS)}")
        if labels not in LABEL_MODES:
            raise ValueError(f"labels must be one of {LABEL_MODES}, got {labels!r}")
        self.families = evaluate.parse_metrics(metrics)
        if not self.families:
            raise ValueError(f"metrics must name at least one of {sorted(evaluate.METRIC_OUTPUTS)}")
        if "is" in self.families and features == "squeezenet":
            raise ValueError("metric 'is' needs class logits, which features='squeezenet' does not give")
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
        self._schedule_checked = False

    def should_evaluate(self, trainer, step):
        return step % self.every == 0 or step == trainer.num_iterations

    def maybe_evaluate(self, trainer, step):
        """Evaluate at this iteration if it is due; returns the records written or None."""
        if not self._schedule_checked and self.every % trainer.checkpoint_every:
            logging.warning("PeriodicEvaluator.every = %d is not a multiple of GANTrainer.checkpoint_every "
                            "= %d: the trainer offers evaluations only at checkpoints", self.every,
                            trainer.checkpoint_every)
        self._schedule_checked = True
        if not self.should_evaluate(trainer, step):
            return None
        return self.evaluate(trainer, step)

    def evaluate(self, trainer, step):
        """Score, append the records, write `eval/<metric>` scalars and update the best checkpoint."""
        dataset = self.dataset or evaluate.run_dataset_name()
        self._prepare(dataset, trainer.data.image_shape)
        records, _, _ = evaluate.evaluate_generator(
            trainer.G_ema, trainer.latent_dim, trainer.num_classes, self._extractor,
            self._real_features, self.families, num_samples=self.num_samples, iteration=step,
            split=self.split, dataset=dataset, batch_size=self.batch_size, seed=self.seed,
            labels=self.labels)
        evaluate.append_records(trainer.model_dir, records)
        for record in records:
            tf.summary.scalar(f"eval/{record['metric']}", record["value"], step=step)
        logging.info("iteration %d eval (%s, %d samples, %.1f s): %s", step, self.features,
                     self.num_samples, records[0]["seconds"],
                     ", ".join(f"{r['metric']} {r['value']:.4f}" for r in records))
        if self.best_metric is not None and update_best(
                trainer.model_dir, trainer.checkpoint.manager.latest_checkpoint, records,
                self.best_metric, self.lower_is_better):
            logging.info("iteration %d is the best so far by %s; kept in %s", step,
                         self.best_metric, os.path.join(trainer.model_dir, BEST_DIR))
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
