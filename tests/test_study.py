"""ddst_tf.study and tools/reproduce.py: the grid, per-run measures, the report, an end-to-end
tiny study that resumes."""

import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from ddst_tf.study import grid, report, run_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_STUDY = os.path.join(ROOT, "tests", "reproduction_tiny.gin")


def test_cells_follow_the_method_and_static_duplicates_are_dropped():
    cells = grid.study_cells([0.1, 0.3], {0.1: (0, 1, 2), 0.3: (0, 1)},
                             methods=("static_balance", "static_strong", "adapt_relax"),
                             dense_seeds=(0,), fig2_g_density=0.1,
                             fig2_d_densities=(0.1, 0.3, 1.0), fig2_seeds=(0, 1, 2))
    names = [cell.name for cell in cells]
    assert names[0] == "dense-dG1-dD1-s0"
    assert "static_strong-dG0.1-dD1-s2" in names and "adapt_relax-dG0.3-dD0.3-s1" in names
    # Fig. 2 needs d_D 0.1 and 1.0 at d_G 0.1: the Balance and Strong runs are those cells.
    assert not any(name.startswith("static-dG0.1-dD0.1") or name.startswith("static-dG0.1-dD1")
                   for name in names)
    assert [n for n in names if n.startswith("static-")] == [
        "static-dG0.1-dD0.3-s0", "static-dG0.1-dD0.3-s1", "static-dG0.1-dD0.3-s2"]
    assert len(names) == len(set(names)) == 1 + 3 * 3 + 3 * 2 + 3
    # The Fig. 2 cells follow their d_G group, before the d_G = 0.3 cells.
    assert names.index("static-dG0.1-dD0.3-s2") < names.index("static_balance-dG0.3-dD0.3-s0")
    assert len(grid.static_at(cells, 0.1, 1.0)) == 3


def test_a_cell_is_its_method_file_and_bindings():
    cell = grid.make_cell("static", 0.1, 2, d_density=0.3)
    assert cell.bindings() == ["D_G = 0.1", "GANTrainer.seed = 2", "D_D = 0.3"]
    assert os.path.isfile(cell.method_file())
    assert grid.make_cell("adapt_strict", 0.3, 1).bindings() == ["D_G = 0.3", "GANTrainer.seed = 1"]
    assert grid.make_cell("dense", 0.1, 0).name == "dense-dG1-dD1-s0"
    with pytest.raises(ValueError, match="method must be one of"):
        grid.make_cell("adapt", 0.1, 0)
    with pytest.raises(ValueError, match="needs an explicit d_D"):
        grid.make_cell("static", 0.1, 0)


def test_every_grid_method_has_a_recipe_and_rescales_its_schedules():
    for method in grid.METHODS:
        text = open(grid.make_cell(method, 0.1, 0, d_density=0.5).method_file()).read()
        if "g_dst_rigl" in text or "adapt" in text:
            assert "%STUDY_G_UPDATE_EVERY" in text
        if "adapt" in text:
            assert "%STUDY_BR_WINDOW" in text and "%STUDY_D_UPDATE_EVERY" in text


def test_second_half_mean_uses_only_finite_points_after_the_middle():
    steps = np.array([1, 2, 3, 4, 5, 6])
    values = np.array([9.0, 9.0, 9.0, 0.4, np.nan, 0.6])
    assert run_metrics.second_half_mean((steps, values), 6) == pytest.approx(0.5)
    assert math.isnan(run_metrics.second_half_mean(None, 6))
    assert math.isnan(run_metrics.second_half_mean((steps[:2], values[:2]), 6))


def _record(method, g, d, seed, fid, flops=0.2, br=0.5):
    return {"name": f"{method}-{seed}", "method": method, "label": grid.METHODS[method][0],
            "g_density": g, "d_density": d, "seed": seed, "iterations": 10, "fid": fid,
            "kid": fid / 1000, "kid_std": 0.001, "final_g_density": g, "final_d_density": d,
            "flop_weighted_d_density": d, "mean_br_second_half": br, "normalized_flops": flops,
            "train_seconds": 60.0 * seed + 60.0}


def test_table_gives_mean_and_sample_std_per_method_and_density():
    records = [_record("adapt_relax", 0.1, 0.1, 0, 10.0), _record("adapt_relax", 0.1, 0.1, 1, 14.0),
               _record("static_balance", 0.1, 0.1, 0, 20.0), _record("dense", 1.0, 1.0, 0, 5.0)]
    lines = report.markdown_table(records).splitlines()
    assert lines[2].startswith("| Dense | 1 | 1 | 1 | 5.00 |")
    assert lines[3].startswith("| Static-Balance | 0.1 | 0.1 | 1 | 20.00 | 20.00 |")
    # FID mean 12, sample std sqrt(((10-12)^2 + (14-12)^2) / 1) = 2.83; time 1 and 2 min.
    assert lines[4] == ("| ADAPT_relax | 0.1 | 0.1 | 2 | 12.00 ± 2.83 | 12.00 ± 2.83 | "
                        "0.100 ± 0.000 | 0.100 ± 0.000 | 0.50 ± 0.00 | 20.0 ± 0.0 | 1.5 ± 0.7 |")
    mean, std = report.mean_std([1.0, math.nan, None])
    assert mean == 1.0 and math.isnan(std)


def test_csv_and_plots_are_written(tmp_path):
    records = [_record("adapt_relax", 0.1, 0.1, 0, 10.0), _record("static", 0.1, 0.3, 0, 12.0)]
    report.write_csv(str(tmp_path / "results.csv"), records)
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["fid"] for row in rows] == ["10.0", "12.0"] and list(rows[0]) == list(report.CSV_FIELDS)
    report.plot_fid_vs_flops(str(tmp_path / "fid.png"), records)
    runs = [{**records[0], "steps": np.arange(5), "values": np.linspace(0.3, 0.6, 5)}]
    report.plot_adapt_series(str(tmp_path / "br.png"), runs, "BR", "BR", (0.45, 0.55))
    report.plot_br_vs_d_density(str(tmp_path / "fig2.png"), {0.3: [(np.arange(3), np.ones(3))]},
                                {0.3: [0.5], 1.0: [0.3]}, 0.1)
    assert all((tmp_path / name).stat().st_size > 1000 for name in ("fid.png", "br.png", "fig2.png"))


def test_adapt_series_axes_are_clipped_to_ylim(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(report, "_save", lambda figure, path: saved.append(figure) or path)
    run = {**_record("adapt_relax", 0.1, 0.1, 0, 10.0), "steps": np.arange(4),
           "values": np.array([0.5, 60.0, -8.0, 0.5])}
    report.plot_adapt_series(str(tmp_path / "br.png"), [run], "BR", "BR", (0.45, 0.55), (-1, 2.5))
    assert saved[0].axes[0].get_ylim() == (-1.0, 2.5)
    report.plot_br_vs_d_density(str(tmp_path / "fig2.png"), {0.1: [(run["steps"], run["values"])]},
                                {0.1: [0.5]}, 0.1, ylim=(-1, 2.5))
    assert saved[1].axes[0].get_ylim() == (-1.0, 2.5)


def _reproduce(tmp_path):
    command = [sys.executable, os.path.join(ROOT, "tools", "reproduce.py"),
               f"--study={TINY_STUDY}", f"--out_dir={tmp_path / 'runs'}",
               f"--results_dir={tmp_path / 'results'}", "--methods=static_balance,adapt_relax",
               "--seeds=0.3:1", "--dense_seeds=0", "--fig2_d_densities=0.3",
               "--num_samples=200", "--classifier_epochs=1", "--workers=2"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DDST_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.integration
def test_tiny_study_end_to_end_and_a_rerun_only_reports(tmp_path):
    """Two runs trained at once (--workers=2), scored, reported; the re-run only reports."""
    first = _reproduce(tmp_path)
    runs = sorted(os.listdir(tmp_path / "runs"))
    assert runs == ["adapt_relax-dG0.3-dD0.3-s0", "static_balance-dG0.3-dD0.3-s0"]
    with open(tmp_path / "runs" / runs[0] / "study_record.json") as handle:
        record = json.load(handle)
    assert record["iterations"] == 12 and record["num_samples"] == 200
    assert 0 < record["normalized_flops"] < 1 and math.isfinite(record["fid"])
    assert record["final_d_density"] != pytest.approx(0.3, abs=1e-3)  # ADAPT moved D at 10
    assert sorted(os.listdir(tmp_path / "results")) == [
        "adapt_br.png", "adapt_d_density.png", "br_vs_d_density.png", "fid_vs_flops.png",
        "results.csv", "results.md"]
    second = _reproduce(tmp_path)
    assert "ddst-train" not in second.stderr
    with open(tmp_path / "runs" / runs[0] / "study_train_seconds.json") as handle:
        assert len(json.load(handle)) == 1  # the re-run trained nothing
    assert (tmp_path / "results" / "results.md").read_text().count("ADAPT_relax") == 1
    assert first.stdout == second.stdout
