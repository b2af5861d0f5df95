"""Speed and memory benchmark of a training iteration, as ratios measured in one process.

    .venv/bin/python tools/benchmark_speed.py [--widths=64,paper] [--rounds=5] \
        [--out=benchmarks/speed.json]

Per width (one subprocess each, so its peak memory is its own): the SNGAN of the paper on the
CIFAR-10 JPEG copy at batch 128/64, n_critic 5, ADAPT_relax at d_G = d_D = 0.1, and the same
model trained without its masks ("unmasked": the kernel used as is, no mask constraint, Adam
fed d loss / d kernel; spectral norm kept). Each round times, interleaved, a plain masked
iteration, a plain unmasked one, one with the BR sample, one with G's prune-and-regrow
(including its fresh-batch growth gradient) and one with D's growth gradients plus the host's
density change. Medians over rounds give:

- masking overhead: masked / unmasked iteration - 1 (target <= 5 %);
- BR overhead at br_freq 10: (BR - plain) / plain / 10 (target <= 3 % of training time);
- one G update at ΔT_G 500: (update - plain) / (500 plain + update - plain) (target <= 1 %);
- one D density change, in plain iterations;
- iterations per second (the PyTorch reference runs width 64 at about 0.2 it/s here).
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "gin_configs", "sngan_cifar10", "adapt_relax.gin")
WIDTHS = {"64": (64, 64), "paper": (256, 128)}
PYTORCH_REFERENCE_IT_PER_S = {"64": 0.2}
TARGETS = {"masking_overhead": 0.05, "br_share_at_freq_10": 0.03, "g_update_share_at_500": 0.01}

flags.DEFINE_list("widths", ["64", "paper"], f"Widths to measure: {sorted(WIDTHS)}.")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds per width.")
flags.DEFINE_string("dataset", "cifar10_jpeg", "Training data (offline CIFAR-10 JPEG copy).")
flags.DEFINE_string("out", os.path.join(ROOT, "benchmarks", "speed.json"), "Results JSON.")
flags.DEFINE_string("worker", None, "Internal: measure this width in this process.")


def build_trainer(width, unmasked):
    """The benchmark's trainer at ``width``; ``unmasked`` trains the kernels without masks."""
    import gin
    import tensorflow as tf

    from ddst_tf import config
    from ddst_tf.layers.masked import MaskedKernelMixin
    from ddst_tf.training.trainer import GANTrainer
    gf_dim, df_dim = WIDTHS[width]
    gin.clear_config()
    config.parse([RECIPE], [
        "D_G = 0.1", f"GANTrainer.dataset = '{FLAGS.dataset}'",
        f"sngan32_generator.gf_dim = {gf_dim}", f"sngan32_discriminator.df_dim = {df_dim}",
        f"GANTrainer.optimizer_gradients = '{'masked' if unmasked else 'dense'}'"])
    trainer = GANTrainer(model_dir=tempfile.mkdtemp(prefix="ddst_benchmark_speed_"))
    if unmasked:
        for model in (trainer.state.G, trainer.state.D, trainer.state.G_ema):
            for layer in model.layers:
                if isinstance(layer, MaskedKernelMixin):
                    layer.masked_kernel = (lambda layer=layer:
                                           tf.convert_to_tensor(layer.kernel_variable))
                    layer.kernel_variable.constraint = layer.kernel_constraint
    trainer.restore_or_initialize()
    gin.clear_config()
    return trainer


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure_width(width):
    """{timings, ratios, peak RSS} of one width, measured in this process."""
    from ddst_tf.training.step import IterationPlan
    masked = build_trainer(width, False)
    controller = masked.state.d_controller
    check = controller.update_every

    def iteration(trainer, plan):
        return lambda: trainer.step(trainer.iterator, plan)["d_loss"].numpy()

    def d_change():
        out = masked.step(masked.iterator, IterationPlan(check_d_density=True))
        host, _ = timed(lambda: controller.step(
            check, 1.0, True, masked.state.d_layers, d_gradients=out["d_gradients"],
            d_optimizer=masked.state.d_optimizer))
        return host

    variants = {
        "plain": iteration(masked, IterationPlan()),
        "br": iteration(masked, IterationPlan(measure_br=True)),
        "g_update": iteration(masked, IterationPlan(update_g_masks=True)),
        "d_change": d_change,
    }
    first = {name: round(timed(run)[0], 2) for name, run in variants.items()}  # traces
    one_trainer_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    unmasked = build_trainer(width, True)
    variants["unmasked"] = iteration(unmasked, IterationPlan())
    first["unmasked"] = round(timed(variants["unmasked"])[0], 2)
    times = {name: [] for name in variants}
    host_seconds = []
    for round_index in range(FLAGS.rounds):
        names = list(variants)[round_index % len(variants):] + list(variants)[
            :round_index % len(variants)]
        for name in names:
            seconds, result = timed(variants[name])
            times[name].append(seconds)
            if name == "d_change":
                host_seconds.append(result)
    median = {name: statistics.median(values) for name, values in times.items()}
    plain = median["plain"]
    g_cost = max(median["g_update"] - plain, 0.0)
    d_cost = max(median["d_change"] - plain, 0.0)
    return {
        "width": width, "gf_dim": WIDTHS[width][0], "df_dim": WIDTHS[width][1],
        "first_call_seconds": first, "seconds": times, "median_seconds": median,
        "host_density_change_seconds": statistics.median(host_seconds),
        "iterations_per_second": 1.0 / plain,
        "pytorch_reference_iterations_per_second": PYTORCH_REFERENCE_IT_PER_S.get(width),
        "masking_overhead": median["plain"] / median["unmasked"] - 1.0,
        "br_share_at_freq_10": (median["br"] - plain) / plain / 10,
        "g_update_iterations": g_cost / plain,
        "g_update_share_at_500": g_cost / (500 * plain + g_cost),
        "d_change_iterations": d_cost / plain,
        "d_change_share_at_1000": d_cost / (1000 * plain + d_cost),
        "peak_rss_mib_one_trainer": one_trainer_rss,
        "peak_rss_mib_with_unmasked_copy":
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _row(result):
    reference = result["pytorch_reference_iterations_per_second"]
    speed = f"{result['iterations_per_second']:.2f} it/s"
    if reference:
        speed += f", {result['iterations_per_second'] / reference:.1f}x the PyTorch reference"
    return (f"| {result['width']} ({result['gf_dim']}/{result['df_dim']}) | "
            f"{result['median_seconds']['plain']:.2f} s ({speed}) | "
            f"{100 * result['masking_overhead']:+.1f} % | "
            f"{100 * result['br_share_at_freq_10']:.2f} % | "
            f"{result['g_update_iterations']:.2f} it ({100 * result['g_update_share_at_500']:.3f} %) | "
            f"{result['d_change_iterations']:.2f} it | "
            f"{result['peak_rss_mib_one_trainer'] / 1024:.1f} GiB |")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.worker:
        print(json.dumps(measure_width(FLAGS.worker)), flush=True)
        return
    unknown = [width for width in FLAGS.widths if width not in WIDTHS]
    if unknown:
        raise app.UsageError(f"--widths: unknown {unknown}; known: {sorted(WIDTHS)}")
    results = []
    for width in FLAGS.widths:
        load = os.getloadavg()
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), f"--worker={width}",
             f"--rounds={FLAGS.rounds}", f"--dataset={FLAGS.dataset}"],
            capture_output=True, text=True, check=True, cwd=ROOT).stdout
        result = json.loads(output.strip().splitlines()[-1])
        result["load_average_before_after"] = [round(load[0], 2), round(os.getloadavg()[0], 2)]
        results.append(result)
    report = {"machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
              "recipe": os.path.relpath(RECIPE, ROOT), "dataset": FLAGS.dataset,
              "rounds": FLAGS.rounds, "targets": TARGETS, "results": results}
    from ddst_tf import atomic_write
    atomic_write.write_json(FLAGS.out, report)
    print("| width (G/D) | plain iteration | masking overhead | BR at br_freq 10 | "
          "G update (share at ΔT_G 500) | D density change | peak RSS (one trainer) |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        print(_row(result))


if __name__ == "__main__":
    app.run(main)
