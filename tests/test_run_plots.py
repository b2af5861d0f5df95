"""ddst_tf.eval.run_plots and ddst-plot: events and CSV read from hand-written files,
bounds from run.json, PNG output, missing data."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from console_scripts import console_script
from ddst_tf.eval import evaluate
from ddst_tf.eval import run_plots as tool


BR = {10: 0.40, 20: 0.52, 30: 0.61}
G_DENSITY = {10: 0.1, 20: 0.1, 30: 0.1}
D_DENSITY = {10: 0.1, 20: 0.15, 30: 0.2}
FLOPS = {10: 0.12, 20: 0.14, 30: 0.17}


def _write_events(summaries, scalars, extras=False):
    writer = tf.summary.create_file_writer(str(summaries))
    with writer.as_default():
        for tag, points in scalars.items():
            for step, value in points.items():
                tf.summary.scalar(tag, value, step=step)
        if extras:
            tf.summary.image("samples/ema", tf.zeros([1, 4, 4, 1]), step=10)
            tf.summary.histogram("G/layer_densities", [0.1, 0.2], step=10)
            tf.summary.text("notes", "hello", step=10)
    writer.close()


def _record(metric, value, iteration, extractor="classifier", split="test"):
    return {"metric": metric, "value": value, "extractor": extractor, "extractor_id": "k",
            "num_samples": 100, "num_real": 50, "iteration": iteration, "split": split,
            "dataset": "digits", "time": "t", "seconds": 1.0}


@pytest.fixture
def full_run(tmp_path):
    """A run dir with every plotted quantity, a resumed second event file, eval rows and bounds."""
    _write_events(tmp_path / "summaries", {
        "balance_ratio/br": BR, "G/density": G_DENSITY, "D/density": D_DENSITY,
        "losses/d_loss": {10: 1.5, 20: 1.2}, "losses/g_loss": {10: 0.3, 20: 0.4},
        "flops/normalized_training_flops": {10: 0.12, 20: 999.0}}, extras=True)
    _write_events(tmp_path / "summaries", {"flops/normalized_training_flops": {20: 0.14, 30: 0.17}})
    evaluate.append_records(str(tmp_path), [
        _record("fid", 30.0, 10), _record("kid", 0.03, 10), _record("kid_std", 0.01, 10),
        _record("fid", 20.0, 30), _record("kid", 0.02, 30), _record("kid_std", 0.005, 30),
        _record("fid", 50.0, 30, extractor="squeezenet")])
    _write_run_info(tmp_path, {"mode": "dda", "bounds": [0.45, 0.55]})
    return tmp_path


def _write_run_info(run_dir, controller):
    (run_dir / "run.json").write_text(json.dumps({"d_controller": controller}))


def test_read_scalars_keeps_numbers_by_step_and_the_later_write_wins(full_run):
    scalars = tool.read_scalars(str(full_run / "summaries"))
    assert "samples/ema" not in scalars and "G/layer_densities" not in scalars and "notes" not in scalars
    steps, values = scalars["balance_ratio/br"]
    np.testing.assert_array_equal(steps, [10, 20, 30])
    np.testing.assert_allclose(values, [0.40, 0.52, 0.61], rtol=1e-6)
    steps, values = scalars["flops/normalized_training_flops"]
    np.testing.assert_array_equal(steps, [10, 20, 30])
    np.testing.assert_allclose(values, [0.12, 0.14, 0.17], rtol=1e-6)


def test_the_later_write_wins_when_file_names_do_not_sort_by_age(full_run):
    # Writers started in the same second differ only in pid and a counter ('.10' < '.9').
    older, newer = sorted(glob.glob(str(full_run / "summaries" / "events.out.tfevents.*")),
                          key=os.path.getsize, reverse=True)  # the first file holds more
    os.rename(older, full_run / "summaries" / "events.out.tfevents.1700000000.host.7.9.v2")
    os.rename(newer, full_run / "summaries" / "events.out.tfevents.1700000000.host.7.10.v2")
    steps, values = tool.read_scalars(str(full_run / "summaries"))["flops/normalized_training_flops"]
    np.testing.assert_array_equal(steps, [10, 20, 30])
    np.testing.assert_allclose(values, [0.12, 0.14, 0.17], rtol=1e-6)


def test_eval_series_are_split_by_extractor(full_run):
    series = tool.read_eval_series(str(full_run / "eval" / "metrics.csv"))
    assert series[("fid", "classifier", "test", 100)] == {10: 30.0, 30: 20.0}
    assert series[("fid", "squeezenet", "test", 100)] == {30: 50.0}
    assert series[("kid_std", "classifier", "test", 100)] == {10: 0.01, 30: 0.005}


@pytest.mark.parametrize("controller, bounds", [
    ({"mode": "dda", "bounds": [0.5, 0.65]}, (0.5, 0.65)),
    (None, None),
])
def test_br_bounds_come_from_run_json(tmp_path, controller, bounds):
    _write_run_info(tmp_path, controller)
    assert tool.read_br_bounds(str(tmp_path)) == bounds
    assert tool.read_br_bounds(str(tmp_path / "no_run_json")) is None


def test_panels_hold_the_recorded_data(full_run):
    panels, notes = tool.collect_panels(str(full_run))
    by_name = {panel.name: panel for panel in panels}
    assert list(by_name) == ["balance_ratio", "density", "losses", "flops", "fid", "kid"]
    assert notes == []
    br = by_name["balance_ratio"]
    assert br.hlines == [(0.45, "B-"), (0.55, "B+")]
    np.testing.assert_allclose(br.series[0].values, [0.40, 0.52, 0.61], rtol=1e-6)
    assert [s.label for s in by_name["density"].series] == ["G/density", "D/density"]
    np.testing.assert_allclose(by_name["density"].series[1].values, [0.1, 0.15, 0.2], rtol=1e-6)
    fid = by_name["fid"].series
    assert [s.label for s in fid] == ["fid (classifier, test, 100 samples)",
                                      "fid (squeezenet, test, 100 samples)"]
    np.testing.assert_array_equal(fid[0].steps, [10, 30])
    np.testing.assert_array_equal(fid[0].values, [30.0, 20.0])
    np.testing.assert_array_equal(by_name["kid"].series[0].spread, [0.01, 0.005])


def test_write_plots_writes_one_png_per_quantity_and_an_overview(full_run):
    paths, _ = tool.write_plots(str(full_run))
    names = ["balance_ratio", "density", "losses", "flops", "fid", "kid", "overview"]
    assert paths == [str(full_run / "plots" / f"{name}.png") for name in names]
    assert sorted(os.listdir(full_run / "plots")) == sorted(f"{name}.png" for name in names)
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 100


def test_missing_quantities_are_skipped_with_notes(tmp_path):
    _write_events(tmp_path / "summaries", {"losses/d_loss": {1: 1.0, 2: 0.5}})
    paths, notes = tool.write_plots(str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["losses.png", "overview.png"]
    for expected in ("balance_ratio: no 'balance_ratio/br'", "density: no 'G/density'",
                     "losses: no 'losses/g_loss'", "flops: no 'flops/normalized_training_flops'",
                     "fid: no 'fid' rows", "kid: no 'kid' rows"):
        assert any(note.startswith(expected) for note in notes), (expected, notes)


def test_br_without_bounds_is_drawn_with_a_note(tmp_path):
    _write_events(tmp_path / "summaries", {"balance_ratio/br": BR})
    panels, notes = tool.collect_panels(str(tmp_path))
    assert panels[0].name == "balance_ratio" and panels[0].hlines == []
    assert "balance_ratio: no density controller in run.json, drawn without bounds" in notes


def test_an_empty_run_writes_nothing_and_does_not_fail(tmp_path):
    paths, notes = tool.write_plots(str(tmp_path))
    assert paths == [] and not os.path.exists(tmp_path / "plots")
    assert notes[0].startswith("no scalar summaries in") and notes[-1].startswith("nothing to plot")


@pytest.mark.integration
def test_command_line_prints_the_written_files(full_run):
    result = console_script("ddst-plot", f"--model_dir={full_run}",
                            f"--output_dir={full_run / 'out'}")
    assert result.stdout.split() == [str(full_run / "out" / f"{name}.png") for name in (
        "balance_ratio", "density", "losses", "flops", "fid", "kid", "overview")]
