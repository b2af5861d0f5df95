"""The small-scale reproduction study of the paper's findings: train a grid, score it, report.

    .venv/bin/python tools/reproduce.py                 # the full grid (hours; resumable)
    .venv/bin/python tools/reproduce.py --quick         # fewer cells, shorter runs (~25 min)
    .venv/bin/python tools/reproduce.py --report_only   # tables and plots from finished runs

Every method (``gin_configs/reproduction/methods/``) trains for the same number of iterations
of the study config (``--study``, Fashion-MNIST by default) with the paper's schedules scaled
to that length, at each d_G and seed, one run per subfolder of ``--out_dir``. Re-running the
tool continues where it stopped: finished cells are skipped, an unfinished run resumes from
its checkpoint. Each finished run is scored (FID and KID of the EMA generator against the
held-out split with the ``--features`` extractor) and measured (final and FLOP-weighted D
density, mean BR over the second half, normalized training FLOPs, wall time). The report
goes to ``--results_dir``: results.csv, results.md and plots (see ``ddst_tf.study.report``).
"""

import concurrent.futures
import datetime
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = "study_record.json"
TIMES = "study_train_seconds.json"

flags.DEFINE_string("study", os.path.join(ROOT, "gin_configs", "reproduction", "fashion_mnist.gin"),
                    "The study's gin config (model, data, length, scaled schedules).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings for every run.")
flags.DEFINE_boolean("quick", False,
                     "Quarter-length runs (gin_configs/reproduction/quick.gin), d_G 0.1 only, one "
                     "seed, into runs/reproduction_quick.")
flags.DEFINE_string("out_dir", None, "Where the runs go (default runs/reproduction[_quick]).")
flags.DEFINE_string("results_dir", None,
                    "Where results.csv, results.md and plots go (default benchmarks/reproduction; "
                    "with --quick, <out_dir>/results).")
flags.DEFINE_list("methods", None, "Methods of the grid (default: the six of the paper's tables).")
flags.DEFINE_list("seeds", None,
                  "d_G:number of seeds, e.g. 0.1:3,0.3:2 (default; --quick: 0.1:1).")
flags.DEFINE_integer("dense_seeds", 1, "Seeds of the dense reference (0: none).")
flags.DEFINE_list("fig2_d_densities", ["0.1", "0.3", "1.0"],
                  "D densities of the static runs at the lowest d_G for the BR-vs-d_D picture.")
flags.DEFINE_string("features", "classifier", "Feature extractor of FID/KID.")
flags.DEFINE_integer("num_samples", 5000, "Generated samples per FID/KID.")
flags.DEFINE_integer("classifier_epochs", 5, "Epochs of the domain classifier (features).")
flags.DEFINE_boolean("report_only", False, "Only write the report from the finished runs.")
flags.DEFINE_integer("workers", 1,
                     "Runs trained at once, each ddst-train with cores // workers TensorFlow "
                     "threads (small models: two one-thread runs on 2 cores train ~1.5x more "
                     "iterations per second than one two-thread run). Scoring stays one at a "
                     "time.", lower_bound=1)


def _parse_seeds(values):
    seeds = {}
    for value in values:
        density, _, count = value.partition(":")
        try:
            seeds[float(density)] = tuple(range(int(count)))
        except ValueError:
            raise app.UsageError(f"--seeds entries are d_G:count (e.g. 0.1:3); got {value!r}")
    return seeds


def study_files():
    files = [FLAGS.study]
    if FLAGS.quick:
        files.append(os.path.join(ROOT, "gin_configs", "reproduction", "quick.gin"))
    return files


def study_facts():
    """The study config's recipe, schedule macros and model width; the config stays parsed (the
    scorer loads the held-out data with its dataset bindings)."""
    import gin

    from ddst_tf import config
    from ddst_tf.recipes import Recipe
    gin.clear_config()
    config.parse(study_files(), FLAGS.gin_bindings)
    recipe = Recipe.from_gin()
    macros = {name: gin.query_parameter(f"%{name}") for name in (
        "STUDY_G_UPDATE_EVERY", "STUDY_D_UPDATE_EVERY_RELAXED", "STUDY_D_UPDATE_EVERY_STRICT",
        "STUDY_BR_WINDOW", "STUDY_BR_FREQ")}
    try:
        width = gin.query_parameter(f"{recipe.model}_generator.base_width")
    except ValueError:
        width = "default"
    return recipe, macros, width


def thread_env(workers):
    """The environment of a ddst-train that shares the machine with ``workers - 1`` others."""
    if workers == 1:
        return None
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {**os.environ, "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def train(cell, run_dir, workers=1):
    """ddst-train the cell into run_dir (resuming if it has checkpoints); returns its seconds."""
    command = [os.path.join(os.path.dirname(sys.executable), "ddst-train"),
               f"--model_dir={run_dir}", *[f"--gin_file={path}" for path in study_files()],
               f"--gin_file={cell.method_file()}",
               *[f"--gin_bindings={binding}" for binding in cell.bindings() + FLAGS.gin_bindings]]
    os.makedirs(run_dir, exist_ok=True)
    started = time.perf_counter()
    with open(os.path.join(run_dir, "train.log"), "a") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=thread_env(workers))
    seconds = time.perf_counter() - started
    times_path = os.path.join(run_dir, TIMES)
    times = json.load(open(times_path)) if os.path.isfile(times_path) else []
    from ddst_tf import atomic_write
    atomic_write.write_json(times_path, times + [round(seconds, 1)])
    if result.returncode:
        raise RuntimeError(f"ddst-train failed for {cell.name} (exit {result.returncode}); see "
                           f"{os.path.join(run_dir, 'train.log')}")
    return sum(times) + seconds


def finished_record(run_dir, num_iterations):
    """The cell's stored record if it was scored at this study length, else None."""
    record_path = os.path.join(run_dir, RECORD)
    if not os.path.isfile(record_path):
        return None
    with open(record_path) as handle:
        record = json.load(handle)
    return record if record["iterations"] == num_iterations else None


def measure(cell, run_dir, scorer, seconds):
    """The record of a trained cell: its training measures and scores, stored in run_dir."""
    from ddst_tf import atomic_write
    from ddst_tf.study import run_metrics
    record = {"name": cell.name, "method": cell.method, "label": cell.label,
              "g_density": cell.g_density, "d_density": cell.d_density, "seed": cell.seed,
              **run_metrics.training_measures(run_dir), **scorer.score(run_dir),
              "train_seconds": round(seconds, 1)}
    atomic_write.write_json(os.path.join(run_dir, RECORD), record)
    logging.info("%s: FID %.2f, KID %.4f, final d_D %.3f, BR(2nd half) %.3f, FLOPs %.1f %%, "
                 "%.1f min", cell.name, record["fid"], record["kid"], record["final_d_density"],
                 record["mean_br_second_half"], 100 * record["normalized_flops"], seconds / 60)
    return record


def trained_cells(cells, out_dir, workers):
    """Yield (cell, training seconds or the RuntimeError) as each run finishes, ``workers`` of
    them training at once."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(train, cell, os.path.join(out_dir, cell.name), workers): cell
                   for cell in cells}
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result()
            except RuntimeError as error:
                yield futures[future], error


def write_report(records, cells, out_dir, results_dir, recipe, macros, width, quiet=False):
    """results.csv, results.md and the plots of the records so far (rewritten after each run,
    so an interrupted study still has its report)."""
    from ddst_tf import atomic_write
    from ddst_tf.study import report, run_metrics
    from ddst_tf.study.grid import static_at
    os.makedirs(results_dir, exist_ok=True)
    order = {cell.name: index for index, cell in enumerate(cells)}
    records = sorted(records, key=lambda record: order.get(record["name"], len(order)))
    report.write_csv(os.path.join(results_dir, "results.csv"), records)
    by_name = {record["name"]: record for record in records}
    adapt = [dict(by_name[cell.name], run_dir=os.path.join(out_dir, cell.name)) for cell in cells
             if cell.method.startswith("adapt") and cell.name in by_name]
    for tag, stem, ylabel, bounds, ylim in [
            (run_metrics.BR_TAG, "adapt_br", "BR (windowed; axis clipped to [-1, 2.5])",
             (0.45, 0.55), (-1.0, 2.5)),
            (run_metrics.D_DENSITY_TAG, "adapt_d_density", "D density", (), (0.0, 1.05))]:
        runs = []
        for run in adapt:
            found = run_metrics.series(run["run_dir"], tag)
            if found is not None:
                runs.append({**run, "steps": found[0], "values": found[1]})
        report.plot_adapt_series(os.path.join(results_dir, f"{stem}.png"), runs, ylabel,
                                 f"{ylabel.split(' (')[0]} over training, ADAPT runs", bounds,
                                 ylim)
    fig2_g = min(cell.g_density for cell in cells)
    series_by_density, second_half = {}, {}
    for d_density in (float(d) for d in FLAGS.fig2_d_densities):
        for cell in static_at(cells, fig2_g, d_density):
            if cell.name not in by_name:
                continue
            found = run_metrics.series(os.path.join(out_dir, cell.name), run_metrics.BR_TAG)
            if found is not None:
                series_by_density.setdefault(d_density, []).append(found)
            second_half.setdefault(d_density, []).append(by_name[cell.name]["mean_br_second_half"])
    if second_half:
        report.plot_br_vs_d_density(os.path.join(results_dir, "br_vs_d_density.png"),
                                    series_by_density, second_half, fig2_g, ylim=(-1.0, 2.5))
    report.plot_fid_vs_flops(os.path.join(results_dir, "fid_vs_flops.png"), records)
    header = (
        f"Study: {os.path.relpath(FLAGS.study, ROOT)}{' --quick' if FLAGS.quick else ''}; "
        f"{recipe.model} (width {width}) on {recipe.dataset}, {recipe.num_iterations} iterations, "
        f"n_critic {recipe.n_critic}, batch {recipe.gen_batch_size}/{recipe.disc_batch_size}; "
        f"schedules scaled from the paper's 100k: ΔT_G {macros['STUDY_G_UPDATE_EVERY']}, ΔT_D "
        f"{macros['STUDY_D_UPDATE_EVERY_RELAXED']} (relaxed) / "
        f"{macros['STUDY_D_UPDATE_EVERY_STRICT']} (strict), BR window "
        f"{macros['STUDY_BR_WINDOW']} iterations sampled every {macros['STUDY_BR_FREQ']}. "
        f"FID/KID: {FLAGS.features} features, {FLAGS.num_samples} samples vs the test split. "
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"{datetime.date.today().isoformat()}; 'train min' is wall time with {FLAGS.workers} "
        f"run(s) training at once. {len(records)} of {len(cells)} runs finished. Command: "
        f"`tools/reproduce.py {' '.join(a for a in sys.argv[1:] if a != '--report_only')}`.")
    atomic_write.write_text(os.path.join(results_dir, "results.md"),
                            header + "\n\n" + report.markdown_table(records) + "\n")
    if not quiet:
        print(header + "\n\n" + report.markdown_table(records))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    from ddst_tf.study import grid
    from ddst_tf.study.run_metrics import RunScorer
    out_dir = FLAGS.out_dir or os.path.join(
        ROOT, "runs", "reproduction_quick" if FLAGS.quick else "reproduction")
    results_dir = FLAGS.results_dir or (os.path.join(out_dir, "results") if FLAGS.quick else
                                        os.path.join(ROOT, "benchmarks", "reproduction"))
    seeds = _parse_seeds(FLAGS.seeds or (["0.1:1"] if FLAGS.quick else ["0.1:3", "0.3:2"]))
    methods = tuple(FLAGS.methods or grid.GRID_METHODS)
    fig2_g = min(seeds)
    cells = grid.study_cells(
        sorted(seeds), seeds, methods, dense_seeds=tuple(range(FLAGS.dense_seeds)),
        fig2_g_density=fig2_g, fig2_d_densities=[float(d) for d in FLAGS.fig2_d_densities],
        fig2_seeds=seeds[fig2_g])
    recipe, macros, width = study_facts()
    logging.info("%d runs of %d iterations into %s", len(cells), recipe.num_iterations, out_dir)
    records, pending = [], []
    for cell in cells:
        record = finished_record(os.path.join(out_dir, cell.name), recipe.num_iterations)
        if record is not None:
            records.append(record)
        elif not FLAGS.report_only:
            pending.append(cell)
    logging.info("%d runs finished, %d to train (%d at once)", len(records), len(pending),
                 FLAGS.workers)
    if records:
        write_report(records, cells, out_dir, results_dir, recipe, macros, width,
                     quiet=bool(pending))
    scorer = pending and RunScorer(
        recipe.dataset, FLAGS.features, num_samples=FLAGS.num_samples,
        extractor_options={"epochs": FLAGS.classifier_epochs}
        if FLAGS.features == "classifier" else None)
    failed = []
    for index, (cell, outcome) in enumerate(trained_cells(pending, out_dir, FLAGS.workers), 1):
        logging.info("[%d/%d] %s trained", index, len(pending), cell.name)
        if isinstance(outcome, RuntimeError):
            logging.error("%s", outcome)
            failed.append(cell.name)
            continue
        records.append(measure(cell, os.path.join(out_dir, cell.name), scorer, outcome))
        write_report(records, cells, out_dir, results_dir, recipe, macros, width,
                     quiet=index < len(pending))
    if failed:
        raise SystemExit(f"reproduce.py: {len(failed)} run(s) failed: {', '.join(failed)}")


if __name__ == "__main__":
    app.run(main)
