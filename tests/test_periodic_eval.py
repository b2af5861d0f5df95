"""PeriodicEvaluator in a real GANTrainer run on digits, and the best-checkpoint bookkeeping."""

import csv
import filecmp
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddst_tf import config
from ddst_tf.eval import evaluate, periodic
from ddst_tf.eval.classifier_extractor import ClassifierExtractor, load_or_train_classifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "gin_configs", "digits_test.gin")
TINY_CLASSIFIER = {"epochs": 1, "architecture": {"conv_filters": [8], "dense_units": 16}}


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    """A 4-iteration digits run checkpointing every iteration and evaluating every 2."""
    model_dir = str(tmp_path_factory.mktemp("run"))
    cache = str(tmp_path_factory.mktemp("cache"))
    options = {**TINY_CLASSIFIER, "cache_dir": cache}
    gin.clear_config()
    config.parse([CONFIG], [
        "GANTrainer.checkpoint_every = 1", "GANTrainer.keep_checkpoints = 5",
        "GANTrainer.evaluator = @PeriodicEvaluator()", "PeriodicEvaluator.every = 2",
        "PeriodicEvaluator.metrics = ('fid', 'kid', 'pr')", "PeriodicEvaluator.num_samples = 40",
        f"PeriodicEvaluator.extractor_options = {options!r}"], model_dir=model_dir)
    from ddst_tf.training.trainer import GANTrainer
    trainer = GANTrainer(model_dir=model_dir)
    trainer.train()
    gin.clear_config()
    return trainer, cache


def _fid_by_iteration(model_dir):
    with open(os.path.join(model_dir, "eval", "metrics.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows, {int(r["iteration"]): float(r["value"]) for r in rows if r["metric"] == "fid"}


@pytest.mark.integration
def test_evaluates_every_n_iterations_into_csv_and_jsonl(evaluated_run):
    trainer, _ = evaluated_run
    rows, fid = _fid_by_iteration(trainer.run_dir.root)
    assert sorted(fid) == [2, 4]
    names = ["fid", "kid", "kid_std", "precision", "recall"]
    assert [r["metric"] for r in rows] == names * 2
    assert {(r["extractor"], r["num_samples"], r["num_real"], r["split"], r["dataset"]) for r in rows} == {
        ("classifier", "40", "297", "test", "digits")}
    jsonl = evaluate.read_records(trainer.run_dir.root)
    assert [(r["metric"], r["iteration"]) for r in jsonl] == [(r["metric"], int(r["iteration"])) for r in rows]
    assert all(np.isfinite(r["value"]) for r in jsonl)


@pytest.mark.integration
def test_recorded_fid_is_the_ema_generator_against_the_test_split(evaluated_run):
    """Recompute the iteration-4 FID independently: same latents, cached classifier, test split."""
    trainer, cache = evaluated_run
    _, fid = _fid_by_iteration(trainer.run_dir.root)
    extractor = ClassifierExtractor(*load_or_train_classifier(
        "digits", train_if_missing=False, cache_dir=cache, **TINY_CLASSIFIER))
    real = evaluate.load_eval_data("digits", "test", False)[0]
    z = np.random.default_rng([0, 0]).standard_normal((40, trainer.state.latent_dim)).astype(np.float32)
    fake = trainer.state.G_ema(z, training=False).numpy()
    expected = evaluate.compute_metrics(extractor(real), extractor(fake), ["fid"])["fid"]
    assert fid[4] == pytest.approx(expected, rel=1e-6)


@pytest.mark.integration
def test_eval_scalars_reach_tensorboard(evaluated_run):
    trainer, _ = evaluated_run
    steps = {}
    summaries = os.path.join(trainer.run_dir.root, "summaries")
    for name in os.listdir(summaries):
        for record in tf.data.TFRecordDataset(os.path.join(summaries, name)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag.startswith("eval/"):
                    steps.setdefault(value.tag, []).append(event.step)
    assert steps == {f"eval/{m}": [2, 4] for m in ("fid", "kid", "kid_std", "precision", "recall")}


@pytest.mark.integration
def test_best_checkpoint_is_the_lowest_fid_and_loads_like_a_run(evaluated_run):
    from ddst_tf.runs import load_ema_generator
    trainer, _ = evaluated_run
    _, fid = _fid_by_iteration(trainer.run_dir.root)
    best_iteration = min(fid, key=fid.get)
    best_dir = os.path.join(trainer.run_dir.root, "best")
    best = periodic.read_best(trainer.run_dir.root)
    assert (best["iteration"], best["metric"], best["checkpoint"]) == (best_iteration, "fid",
                                                                       f"ckpt-{best_iteration}")
    assert best["value"] == pytest.approx(fid[best_iteration])
    assert sorted(os.listdir(best_dir)) == ["best.json", "checkpoints", "config.gin", "model.json"]
    assert [n for n in os.listdir(trainer.run_dir.root) if n.startswith(".best")] == []
    generator, _, iteration = load_ema_generator(best_dir)
    gin.clear_config()
    assert iteration == best_iteration
    for name in (f"ckpt-{best_iteration}.index", f"ckpt-{best_iteration}.data-00000-of-00001"):
        assert filecmp.cmp(os.path.join(trainer.run_dir.root, "checkpoints", name),
                           os.path.join(best_dir, "checkpoints", name), shallow=False)


def _checkpoint(directory, step, value):
    checkpoint = tf.train.Checkpoint(v=tf.Variable(float(value)))
    return checkpoint.write(os.path.join(directory, f"ckpt-{step}"))


def _records(value, step, **changes):
    record = {"metric": "fid", "value": value, "extractor": "classifier", "extractor_id": "abc",
              "num_samples": 10, "num_real": 5, "iteration": step, "split": "test",
              "dataset": "digits", "time": "t", "seconds": 1.0}
    return [{**record, **changes}, {**record, "metric": "kid", "value": -value}]


def _best_value(model_dir):
    best_dir = os.path.join(model_dir, "best", "checkpoints")
    restored = tf.train.Checkpoint(v=tf.Variable(0.0))
    restored.read(tf.train.latest_checkpoint(best_dir)).assert_consumed()
    return float(restored.v.numpy())


def test_update_best_keeps_only_improvements(tmp_path):
    model_dir = str(tmp_path)
    for step, fid, kept in [(1, 5.0, True), (2, 7.0, False), (3, 4.0, True), (4, float("nan"), False),
                            (5, 4.0, False)]:
        prefix = _checkpoint(os.path.join(model_dir, "checkpoints"), step, fid)
        assert periodic.update_best(model_dir, prefix, _records(fid, step), "fid") is kept
    assert periodic.read_best(model_dir)["iteration"] == 3 and _best_value(model_dir) == 4.0
    assert sorted(os.listdir(model_dir)) == ["best", "checkpoints"]
    assert sorted(os.listdir(os.path.join(model_dir, "best", "checkpoints"))) == [
        "checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]


def test_update_best_higher_is_better_and_replaces_an_incomparable_best(tmp_path):
    model_dir = str(tmp_path)
    prefix = _checkpoint(model_dir, 1, 1.0)
    assert periodic.update_best(model_dir, prefix, _records(1.0, 1), "kid", lower_is_better=False)
    assert periodic.read_best(model_dir)["value"] == -1.0
    prefix = _checkpoint(model_dir, 2, 2.0)
    assert not periodic.update_best(model_dir, prefix, _records(3.0, 2), "kid", lower_is_better=False)
    assert periodic.update_best(model_dir, prefix, _records(3.0, 2, extractor_id="other"), "fid")
    best = periodic.read_best(model_dir)
    assert (best["metric"], best["iteration"], best["lower_is_better"]) == ("fid", 2, True)
    with pytest.raises(ValueError, match="no 'is' among the records"):
        periodic.update_best(model_dir, prefix, _records(3.0, 2), "is")
    with pytest.raises(FileNotFoundError, match="no checkpoint files"):
        periodic.update_best(str(tmp_path / "other"), str(tmp_path / "ckpt-9"), _records(1.0, 9), "fid")


def test_evaluates_at_multiples_of_every_and_at_the_last_iteration():
    evaluator = periodic.PeriodicEvaluator(every=4)
    assert [s for s in range(1, 11) if evaluator.should_evaluate(s, 10)] == [4, 8, 10]


@pytest.mark.parametrize("kwargs, message", [
    ({"every": 0}, "PeriodicEvaluator.every must be a positive integer; got 0"),
    ({"every": 2, "metrics": ("fid", "lpips")}, r"unknown metrics \['lpips'\]"),
    ({"every": 2, "metrics": ()}, "metrics must name at least one of"),
    ({"every": 2, "features": "vgg"}, "unknown features 'vgg'"),
    ({"every": 2, "metrics": ("kid",)}, r"best_metric 'fid' is not computed by metrics=\('kid',\)"),
    ({"every": 2, "num_samples": 1}, "PeriodicEvaluator.num_samples must be an integer >= 2; got 1"),
    ({"every": 2, "labels": "sorted"}, "labels must be one of"),
    ({"every": 2, "metrics": ("is",), "features": "squeezenet", "best_metric": "is"},
     "metric 'is' needs class logits"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        periodic.PeriodicEvaluator(**kwargs)


def test_every_is_required_in_gin():
    config.register_configurables()
    gin.parse_config("PeriodicEvaluator.metrics = ('fid',)")
    with pytest.raises(RuntimeError, match=r"Required bindings for `PeriodicEvaluator`.*\['every'\]"):
        periodic.PeriodicEvaluator()
