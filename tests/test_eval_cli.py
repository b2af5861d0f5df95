"""ddst-eval on a tiny digits run: records, independent recomputation, sample dumps, usage errors."""

import csv
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
from PIL import Image

from ddst_tf import config
from ddst_tf.eval import evaluate, sample_dump
from ddst_tf.eval.classifier_extractor import ClassifierExtractor, load_or_train_classifier
from ddst_tf.eval.sampling import generate_samples

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "gin_configs", "digits_test.gin")
DDST_EVAL = os.path.join(os.path.dirname(sys.executable), "ddst-eval")
NUM_SAMPLES = 200


def run_eval(cache, *args, expect_ok=True):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DDST_CACHE_DIR": cache}
    result = subprocess.run([DDST_EVAL, *args], capture_output=True, text=True, timeout=300, env=env,
                            cwd=ROOT)
    assert (result.returncode == 0) == expect_ok, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A 4-iteration digits run (in process), then one ddst-eval of all metrics with a PNG dump."""
    model_dir = str(tmp_path_factory.mktemp("run"))
    cache = str(tmp_path_factory.mktemp("cache"))
    dump_dir = os.path.join(str(tmp_path_factory.mktemp("dumps")), "png")
    gin.clear_config()
    config.parse([CONFIG], [], model_dir=model_dir)
    from ddst_tf.training.trainer import GANTrainer
    GANTrainer(model_dir=model_dir).train()
    gin.clear_config()
    result = run_eval(cache, f"--model_dir={model_dir}", "--metrics=fid,kid,is,pr",
                      f"--num_samples={NUM_SAMPLES}", "--classifier_epochs=1", "--dump_samples=png",
                      f"--dump_dir={dump_dir}")
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    return model_dir, cache, dump_dir, printed


def _ema_samples(model_dir, count):
    from ddst_tf.runs import load_ema_generator
    gin.clear_config()
    generator, info, _ = load_ema_generator(model_dir)
    gin.clear_config()
    return generate_samples(generator, count, info["latent_dim"], info["num_classes"])[0]


def test_prints_and_appends_one_record_per_metric_value(evaluated):
    model_dir, _, _, printed = evaluated
    names = ["fid", "kid", "kid_std", "is", "is_std", "precision", "recall"]
    assert [r["metric"] for r in printed] == names
    assert {(r["iteration"], r["split"], r["dataset"], r["extractor"], r["num_samples"], r["num_real"])
            for r in printed} == {(4, "test", "digits", "classifier", NUM_SAMPLES, 297)}
    with open(os.path.join(model_dir, "eval", "metrics.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["metric"], float(r["value"])) for r in rows] == [(r["metric"], r["value"]) for r in printed]
    assert evaluate.read_records(model_dir) == printed
    assert 1.0 <= printed[3]["value"] <= 10.0 and 0.0 <= printed[5]["value"] <= 1.0


def test_values_match_an_independent_computation(evaluated):
    """Same EMA generator, latents, cached classifier and test split give the same FID and IS."""
    model_dir, cache, _, printed = evaluated
    extractor = ClassifierExtractor(*load_or_train_classifier("digits", cache_dir=cache, epochs=1,
                                                              train_if_missing=False))
    assert printed[0]["extractor_id"] == extractor.record["key"][:16]
    real = extractor(evaluate.load_eval_data("digits", "test", False)[0])
    fake = extractor(_ema_samples(model_dir, NUM_SAMPLES))
    expected = evaluate.compute_metrics(real, fake, ["fid", "is"])
    values = {r["metric"]: r["value"] for r in printed}
    assert values["fid"] == pytest.approx(expected["fid"], rel=1e-6)
    assert values["is"] == pytest.approx(expected["is"], rel=1e-6)


def test_png_dump_holds_the_scored_samples(evaluated):
    model_dir, _, dump_dir, _ = evaluated
    names = sorted(os.listdir(dump_dir))
    assert len(names) == NUM_SAMPLES and names[0] == "000000.png"
    expected = sample_dump.to_uint8(_ema_samples(model_dir, NUM_SAMPLES))
    for index in (0, NUM_SAMPLES - 1):
        with Image.open(os.path.join(dump_dir, names[index])) as image:
            np.testing.assert_array_equal(np.asarray(image), expected[index, ..., 0])


def test_dump_only_writes_npz_and_no_records(evaluated, tmp_path):
    model_dir, cache, _, printed = evaluated
    run_eval(cache, f"--model_dir={model_dir}", "--metrics=", "--num_samples=10", "--dump_samples=npz",
             f"--dump_dir={tmp_path}")
    with np.load(tmp_path / "samples.npz") as archive:
        np.testing.assert_array_equal(archive["images"], sample_dump.to_uint8(_ema_samples(model_dir, 10)))
    assert len(evaluate.read_records(model_dir)) == len(printed)


def test_usage_error_names_the_flag(evaluated):
    model_dir, cache, _, _ = evaluated
    result = run_eval(cache, f"--model_dir={model_dir}", "--dump_samples=npz", expect_ok=False)
    assert "--dump_samples needs --dump_dir" in result.stderr, result.stderr[-2000:]


def test_inception_score_without_the_graph_is_a_usage_error(tmp_path):
    result = run_eval(str(tmp_path), f"--model_dir={tmp_path / 'no_run'}", "--metrics=fid,is",
                      "--features=inception", expect_ok=False)
    assert ("metric 'is' needs the logits of the TF Inception graph: pass --inception_graph=PATH"
            in result.stderr), result.stderr[-2000:]


def test_metric_names_are_parsed_and_checked():
    assert evaluate.parse_metrics("FID, kid,fid,") == ("fid", "kid")
    assert evaluate.metric_names(("pr", "is")) == ("precision", "recall", "is", "is_std")
    known = r"known metrics: \['fid', 'is', 'kid', 'pr'\]"
    with pytest.raises(ValueError, match=r"unknown metrics \['lpips'\]; " + known):
        evaluate.parse_metrics(["fid", "lpips"])
