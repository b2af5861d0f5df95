"""Plots of a training run against iteration: BR (with the controller's bounds), densities,
losses, FID/KID and normalized training FLOPs, one PNG each plus overview.png.

Reads the TensorBoard events in <model_dir>/summaries, <model_dir>/eval/metrics.csv and the
bounds in <model_dir>/run.json. A quantity the run did not record is skipped with a note.
"""

import csv
import dataclasses
import glob
import json
import math
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ddst_tf import atomic_write  # noqa: E402
from ddst_tf.eval.evaluate import CSV_NAME  # noqa: E402
from ddst_tf.run_dir import RunDir  # noqa: E402

# (file stem, title, y label, TensorBoard tags drawn in it)
SCALAR_PANELS = (
    ("balance_ratio", "Balance ratio (BR)", "BR", ("balance_ratio/br",)),
    ("density", "G and D density", "density", ("G/density", "D/density")),
    ("losses", "Losses", "loss", ("losses/d_loss", "losses/g_loss")),
    ("flops", "Normalized training FLOPs", "fraction of dense", ("flops/normalized_training_flops",)),
)
# (file stem, title, metric in eval/metrics.csv, its spread or None)
EVAL_PANELS = (("fid", "FID", "fid", None), ("kid", "KID", "kid", "kid_std"))


@dataclasses.dataclass
class Series:
    label: str
    steps: np.ndarray
    values: np.ndarray
    spread: np.ndarray = None


@dataclasses.dataclass
class Panel:
    name: str
    title: str
    ylabel: str
    series: list
    hlines: list = dataclasses.field(default_factory=list)  # (y, label)


def _scalar(value):
    """The float of a scalar summary value, or None for images, histograms, text and hparams."""
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind == "tensor":
        array = tf.make_ndarray(value.tensor)
        if array.ndim == 0 and np.issubdtype(array.dtype, np.number):
            return float(array)
    return None


def read_scalars(summaries_dir):
    """{tag: (steps, values)} of every scalar in the event files, by step; a later write of a step wins.

    "Later" is the event's wall time, not the file name: two writers started in the same second
    (a resume) have names that differ only in pid and a counter, which do not sort by age.
    """
    by_tag = {}
    for path in sorted(glob.glob(os.path.join(summaries_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                number = _scalar(value)
                if number is None:
                    continue
                points = by_tag.setdefault(value.tag, {})
                if event.wall_time >= points.get(int(event.step), (-np.inf,))[0]:
                    points[int(event.step)] = (event.wall_time, number)
    return {tag: (np.array(sorted(points), np.int64), np.array([points[s][1] for s in sorted(points)]))
            for tag, points in by_tag.items()}


def read_eval_series(csv_path):
    """{(metric, extractor, split, num_samples): {iteration: value}} from eval/metrics.csv (last row wins)."""
    series = {}
    if not os.path.isfile(csv_path):
        return series
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["metric"], row["extractor"], row["split"], int(row["num_samples"]))
            series.setdefault(key, {})[int(row["iteration"])] = float(row["value"])
    return series


def read_br_bounds(model_dir):
    """(B-, B+) of the run's density controller from its run.json, or None without one."""
    path = RunDir(model_dir).run_info
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        controller = json.load(handle).get("d_controller")
    return tuple(controller["bounds"]) if controller else None


def scalar_panels(scalars, bounds):
    """(panels, notes): the TensorBoard panels that have data, and a note for each that has none."""
    panels, notes = [], []
    for name, title, ylabel, tags in SCALAR_PANELS:
        series = [Series(tag, *scalars[tag]) for tag in tags if tag in scalars]
        notes += [f"{name}: no '{tag}' in the summaries" for tag in tags if tag not in scalars]
        if not series:
            continue
        hlines = []
        if name == "balance_ratio":
            if bounds is None:
                notes.append("balance_ratio: no density controller in run.json, drawn without bounds")
            else:
                hlines = [(bounds[0], "B-"), (bounds[1], "B+")]
        panels.append(Panel(name, title, ylabel, series, hlines))
    return panels, notes


def eval_panels(eval_series):
    """(panels, notes) for FID/KID, one line per (extractor, split, sample count)."""
    panels, notes = [], []
    for name, title, metric, spread_metric in EVAL_PANELS:
        series = []
        for (row_metric, extractor, split, count), points in sorted(eval_series.items()):
            if row_metric != metric:
                continue
            steps = np.array(sorted(points), np.int64)
            spread_points = eval_series.get((spread_metric, extractor, split, count), {})
            spread = (np.array([spread_points.get(s, math.nan) for s in steps])
                      if spread_metric and spread_points else None)
            series.append(Series(f"{metric} ({extractor}, {split}, {count} samples)", steps,
                                 np.array([points[s] for s in steps]), spread))
        if series:
            panels.append(Panel(name, title, metric, series))
        else:
            notes.append(f"{name}: no '{metric}' rows in eval/metrics.csv")
    return panels, notes


def collect_panels(model_dir):
    """(panels, notes) of everything the run recorded."""
    run_dir = RunDir(model_dir)
    scalars = read_scalars(run_dir.summaries) if os.path.isdir(run_dir.summaries) else {}
    notes = [] if scalars else [f"no scalar summaries in {run_dir.summaries}"]
    panels, scalar_notes = scalar_panels(scalars, read_br_bounds(model_dir))
    more_panels, eval_notes = eval_panels(read_eval_series(os.path.join(run_dir.eval, CSV_NAME)))
    return panels + more_panels, notes + scalar_notes + eval_notes


def draw_panel(axes, panel):
    for series in panel.series:
        line, = axes.plot(series.steps, series.values, label=series.label,
                          marker="o" if len(series.steps) < 20 else None)
        if series.spread is not None:
            axes.fill_between(series.steps, series.values - series.spread, series.values + series.spread,
                              color=line.get_color(), alpha=0.2)
    for y, label in panel.hlines:
        axes.axhline(y, color="grey", linestyle="--", linewidth=1)
        axes.annotate(f"{label} = {y:g}", (1.0, y), xycoords=("axes fraction", "data"),
                      ha="right", va="bottom", fontsize=8, color="grey")
    axes.set_title(panel.title)
    axes.set_xlabel("iteration")
    axes.set_ylabel(panel.ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


def write_plots(model_dir, output_dir=None):
    """Write <panel>.png for every panel with data and overview.png; returns (paths, notes)."""
    output_dir = output_dir or RunDir(model_dir).plots
    panels, notes = collect_panels(model_dir)
    if not panels:
        return [], notes + ["nothing to plot: no overview.png"]
    os.makedirs(output_dir, exist_ok=True)
    paths = []
    for panel in panels:
        figure, axes = plt.subplots(figsize=(6, 4))
        draw_panel(axes, panel)
        paths.append(_save(figure, os.path.join(output_dir, f"{panel.name}.png")))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for axes, panel in zip(grid.flat, panels):
        draw_panel(axes, panel)
    for axes in list(grid.flat)[len(panels):]:
        axes.axis("off")
    figure.suptitle(os.path.basename(os.path.normpath(model_dir)))
    paths.append(_save(figure, os.path.join(output_dir, "overview.png")))
    return paths, notes


def _save(figure, path):
    """Save and close a figure, atomically."""
    figure.tight_layout()
    with atomic_write.replacing(path) as partial:
        figure.savefig(partial, dpi=100)
    plt.close(figure)
    return path
