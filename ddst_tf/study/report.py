"""The study's outputs from its per-run records: results.csv, a Markdown table, the plots.

A record is a flat dict: the cell (method, label, g_density, d_density, seed), its scores and
measures (see ``run_metrics``) and its wall time. The table groups records by (method, d_G)
and gives mean ± std over seeds (sample std, n - 1); the plots are FID against normalized
training FLOPs (one point per run), BR and D density over training for the ADAPT runs, and BR
against D's density for static runs at one d_G (the paper's Fig. 2).
"""

import csv
import math
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ddst_tf import atomic_write  # noqa: E402
from ddst_tf.study.grid import METHODS  # noqa: E402

CSV_FIELDS = ("name", "method", "label", "g_density", "d_density", "seed", "iterations", "fid",
              "kid", "kid_std", "final_g_density", "final_d_density", "flop_weighted_d_density",
              "mean_br_second_half", "normalized_flops", "train_seconds", "extractor",
              "extractor_id", "num_samples", "num_real", "split")
METHOD_ORDER = list(METHODS)
COLOURS = {"dense": "black", "static_balance": "tab:blue", "static_strong": "tab:cyan",
           "sdst_balance_rigl": "tab:orange", "sdst_strong_rigl": "tab:brown",
           "adapt_relax": "tab:green", "adapt_strict": "tab:red", "static": "tab:purple"}
MARKERS = {0.1: "o", 0.2: "^", 0.3: "s", 0.5: "D", 1.0: "*"}


def write_csv(path, records):
    """One row per run, CSV_FIELDS in order."""
    with atomic_write.replacing(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


def mean_std(values):
    """(mean, sample std) of the finite values; std NaN for one value, both NaN for none."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if len(values) == 0:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else math.nan


def grouped(records):
    """[(method, g_density, d_density, [records])] in table order (d_G, then the method order)."""
    groups = {}
    for record in records:
        key = (record["method"], record["g_density"], record["d_density"])
        groups.setdefault(key, []).append(record)
    return [(*key, groups[key]) for key in sorted(
        groups, key=lambda k: (k[1] if k[0] != "dense" else -1, METHOD_ORDER.index(k[0]), k[2]))]


def _cell(values, scale=1.0, digits=2):
    mean, std = mean_std([v * scale for v in values])
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown_table(records):
    """The results table: mean ± std over seeds per (method, d_G, initial d_D)."""
    lines = ["| method | d_G | d_D start | seeds | FID | KID ×10³ | final d_D | FLOP-weighted d_D | "
             "BR 2nd half | norm. FLOPs % | train min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for method, g_density, d_density, group in grouped(records):
        get = lambda key: [r[key] for r in group]  # noqa: E731
        lines.append(
            f"| {group[0]['label']} | {g_density:g} | {d_density:g} | {len(group)} | "
            f"{_cell(get('fid'))} | {_cell(get('kid'), 1e3)} | "
            f"{_cell(get('final_d_density'), digits=3)} | "
            f"{_cell(get('flop_weighted_d_density'), digits=3)} | "
            f"{_cell(get('mean_br_second_half'))} | {_cell(get('normalized_flops'), 100, 1)} | "
            f"{_cell(get('train_seconds'), 1 / 60, 1)} |")
    return "\n".join(lines)


def plot_fid_vs_flops(path, records):
    """FID against normalized training FLOPs, one point per run, methods coloured."""
    figure, axes = plt.subplots(figsize=(7, 5))
    seen = set()
    for record in records:
        label = record["label"] if record["method"] not in seen else None
        seen.add(record["method"])
        axes.scatter(100 * record["normalized_flops"], record["fid"],
                     color=COLOURS[record["method"]],
                     marker=MARKERS.get(record["g_density"], "x"), s=45, label=label,
                     edgecolors="none", alpha=0.85)
    axes.set_xscale("log")
    axes.set_xlabel("normalized training FLOPs (% of dense, log scale)")
    axes.set_ylabel("FID (lower is better)")
    axes.set_title("FID vs training cost (marker: d_G  o 0.1  s 0.3  * dense)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    _save(figure, path)


def plot_adapt_series(path, series_by_run, ylabel, title, bounds=None, ylim=None):
    """One panel per (ADAPT method, d_G): a line per seed of a logged quantity over training;
    ``ylim`` (low, high) clips the axes (BR of a short window has spikes of tens)."""
    keys = sorted({(run["method"], run["g_density"]) for run in series_by_run},
                  key=lambda k: (METHOD_ORDER.index(k[0]), k[1]))
    if not keys:
        return None
    columns = min(2, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(6 * columns, 3.6 * rows), squeeze=False)
    for axes, (method, g_density) in zip(grid.flat, keys):
        for run in series_by_run:
            if (run["method"], run["g_density"]) == (method, g_density):
                axes.plot(run["steps"], run["values"], linewidth=1,
                          label=f"seed {run['seed']}")
        for bound in bounds or ():
            axes.axhline(bound, color="grey", linestyle="--", linewidth=1)
        axes.set_title(f"{METHODS[method][0]}, d_G = {g_density:g}")
        axes.set_xlabel("iteration")
        axes.set_ylabel(ylabel)
        if ylim is not None:
            axes.set_ylim(*ylim)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    for axes in list(grid.flat)[len(keys):]:
        axes.axis("off")
    figure.suptitle(title)
    return _save(figure, path)


def plot_br_vs_d_density(path, series_by_density, second_half_by_density, g_density,
                         ylim=None):
    """The paper's Fig. 2 at one d_G: BR over training per d_D (``ylim`` clips that axis), and
    its second-half mean vs d_D."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for d_density in sorted(series_by_density):
        for index, (steps, values) in enumerate(series_by_density[d_density]):
            left.plot(steps, values, linewidth=0.8, alpha=0.8,
                      color=plt.cm.viridis(min(d_density, 1.0) * 0.9),
                      label=f"d_D = {d_density:g}" if index == 0 else None)
    left.set_xlabel("iteration")
    if ylim is not None:
        left.set_ylim(*ylim)
    left.set_ylabel("BR (windowed)" + ("" if ylim is None else
                                       f"; axis clipped to [{ylim[0]:g}, {ylim[1]:g}]"))
    left.set_title(f"Static sparse training, d_G = {g_density:g}")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    densities = sorted(second_half_by_density)
    for d_density in densities:
        values = second_half_by_density[d_density]
        right.scatter([d_density] * len(values), values, color="tab:purple", s=25, alpha=0.7)
    means = [mean_std(second_half_by_density[d])[0] for d in densities]
    right.plot(densities, means, color="tab:purple", marker="o", label="mean over seeds")
    right.set_xscale("log")
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_xticks(densities)
    right.set_xticklabels([f"{d:g}" for d in densities])
    right.set_xlabel("d_D (static)")
    right.set_ylabel("mean BR over the second half")
    right.set_title("Stronger D, lower BR?")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    return _save(figure, path)


def _save(figure, path):
    figure.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_write.replacing(path) as partial:
        figure.savefig(partial, dpi=100)
    plt.close(figure)
    return path
