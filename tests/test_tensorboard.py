"""TensorBoard output of a short ddst-train run: hparams, sample grids, density histograms."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2


pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def run_events(digits_run):
    """(run_summary.json, {tag: [(step, summary value)]}) of a 4-step digits run."""
    model_dir = str(digits_run[0])
    events = {}
    files = glob.glob(os.path.join(model_dir, "summaries", "events.out.tfevents.*"))
    assert len(files) == 1
    for event in tf.compat.v1.train.summary_iterator(files[0]):
        for value in event.summary.value:
            events.setdefault(value.tag, []).append((event.step, value))
    with open(os.path.join(model_dir, "run_summary.json")) as f:
        return json.load(f), events


def test_hparams_session_start_holds_the_run_settings(run_events):
    _, events = run_events
    [(_, value)] = events["_hparams_/session_start_info"]
    assert value.metadata.plugin_data.plugin_name == "hparams"
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    hparams = data.session_start_info.hparams
    assert hparams["model"].string_value == "dcgan"
    assert hparams["sparse_init"].string_value == "erk"
    assert hparams["g_dst"].string_value == "static"
    assert hparams["d_G"].number_value == 0.5 and hparams["d_D_initial"].number_value == 0.5
    assert hparams["n_critic"].number_value == 2
    assert hparams["num_iterations"].number_value == 4
    assert hparams["gen_batch_size"].number_value == 16
    assert data.session_start_info.group_name  # the trial id (run directory name)


def test_sample_grids_are_png_image_summaries(run_events):
    _, events = run_events
    grids = events["samples/ema"]
    assert [step for step, _ in grids] == [2, 4]  # sample_every = 2
    for _, value in grids:
        assert value.metadata.plugin_data.plugin_name == "images"
        width, height, png = tf.make_ndarray(value.tensor)
        image = tf.io.decode_png(png).numpy()
        assert image.shape[:2] == (int(height), int(width))
        assert image.shape[0] >= 4 * 8 and image.shape[1] >= 4 * 8  # 16 digits of 8x8
        assert image.std() > 0


@pytest.mark.parametrize("network", ["G", "D"])
def test_per_layer_densities_are_histograms(run_events, network):
    summary, events = run_events
    densities = list(summary[f"{network.lower()}_layer_densities"].values())
    histograms = events[f"{network}/layer_densities"]
    assert [step for step, _ in histograms] == [2, 4]  # summary_every = 2
    _, value = histograms[-1]
    assert value.metadata.plugin_data.plugin_name == "histograms"
    buckets = tf.make_ndarray(value.tensor)  # rows of (left edge, right edge, count)
    assert buckets[:, 2].sum() == len(densities)
    assert buckets[0, 0] == pytest.approx(min(densities))
    assert buckets[-1, 1] == pytest.approx(max(densities))
    assert min(densities) < 1.0  # ERK at d = 0.5: the histogram has some spread
    scalars = [tf.make_ndarray(v.tensor) for _, v in events[f"{network}/density"]]
    np.testing.assert_allclose(scalars[-1], summary[f"{network.lower()}_density"])
