"""What the study measures of one finished run: FID/KID, D density, BR, training FLOPs, time.

- ``fid``, ``kid`` (``kid_std``): the EMA generator's samples against the held-out split, with
  one extractor and one set of real features shared by every run (``RunScorer``);
- ``final_d_density``: D's global density at the end;
- ``flop_weighted_d_density``: D's training FLOPs over dense D's, i.e. the density a static D
  would need for the same D cost (the quantity the spec derives from the paper's Table 3);
- ``mean_br_second_half``: the mean of the logged windowed BR over the run's second half;
- ``normalized_flops``: (G + D) training FLOPs over dense, the paper's convention;
- ``train_seconds``: wall time of training (all attempts of a resumed run).
"""

import json
import math
import os

import gin
import numpy as np

from ddst_tf.eval import evaluate
from ddst_tf.eval.run_plots import read_scalars
from ddst_tf.eval.sampling import generate_samples
from ddst_tf.run_dir import RunDir
from ddst_tf.runs import load_ema_generator

BR_TAG = "balance_ratio/br"
D_DENSITY_TAG = "D/density"
G_DENSITY_TAG = "G/density"


class RunScorer:
    """Scores runs' EMA generators with one extractor and the real features computed once."""

    def __init__(self, dataset, features="classifier", split="test", num_samples=5000,
                 extractor_options=None, kid_subsets=100, seed=0):
        self.dataset, self.features, self.split = dataset, features, split
        self.num_samples = int(num_samples)
        self.kid_subsets = int(kid_subsets)
        self.seed = int(seed)
        real_images, classifier_data = evaluate.load_eval_data(
            dataset, split, features == "classifier")
        self.image_shape = tuple(real_images.shape[1:])
        self.extractor = evaluate.build_extractor(features, dataset, classifier_data,
                                                  extractor_options)
        self.extractor_id = evaluate.extractor_id(self.extractor)
        self.real_features = self.extractor(real_images)

    def score(self, model_dir):
        """{fid, kid, kid_std} of the run's latest EMA generator."""
        gin.clear_config()
        try:
            generator, info, _ = load_ema_generator(model_dir)
        finally:
            gin.clear_config()
        if tuple(info["image_shape"]) != self.image_shape:
            raise ValueError(f"{model_dir} generates images of shape {tuple(info['image_shape'])}"
                             f" but {self.dataset!r} has {self.image_shape}")
        images, _ = generate_samples(generator, self.num_samples, info["latent_dim"],
                                     info["num_classes"], seed=self.seed)
        fake = self.extractor(images)
        values = evaluate.compute_metrics(self.real_features, fake, ("fid", "kid"),
                                          kid_subsets=self.kid_subsets)
        return {"fid": values["fid"], "kid": values["kid"], "kid_std": values["kid_std"],
                "extractor": self.features, "extractor_id": self.extractor_id,
                "num_samples": self.num_samples, "num_real": len(self.real_features["pool"]),
                "split": self.split}


def training_measures(model_dir):
    """Density, BR and FLOPs measures of a finished run (see the module docstring)."""
    run_dir = RunDir(model_dir)
    with open(run_dir.run_summary) as handle:
        summary = json.load(handle)
    flops = summary["training_flops"]
    iterations = int(summary["iteration"])
    scalars = read_scalars(run_dir.summaries) if os.path.isdir(run_dir.summaries) else {}
    return {
        "iterations": iterations,
        "final_g_density": float(summary["g_density"]),
        "final_d_density": float(summary["d_density"]),
        "flop_weighted_d_density": float(flops["D"] / flops["dense_D"]),
        "normalized_flops": float(flops["normalized"]),
        "mean_br_second_half": second_half_mean(scalars.get(BR_TAG), iterations),
    }


def second_half_mean(series, iterations):
    """Mean of a (steps, values) series over steps > iterations / 2; NaN without points there."""
    if series is None:
        return math.nan
    steps, values = series
    values = np.asarray(values, np.float64)[np.asarray(steps) > iterations / 2]
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else math.nan


def series(model_dir, tag, every=1):
    """(steps, values) of a logged scalar of the run, every ``every``-th point; None if absent."""
    run_dir = RunDir(model_dir)
    found = read_scalars(run_dir.summaries).get(tag) if os.path.isdir(run_dir.summaries) else None
    if found is None:
        return None
    steps, values = found
    return steps[::every], values[::every]
