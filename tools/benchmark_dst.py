"""Benchmark: one global prune-and-regrow of the paper-size SNGAN generator vs a training step.

Both are timed in the same process, interleaved (an iteration with the G mask update, then one
without, repeated), so background load hits them alike. The DST cost is the difference of the
two medians (it includes the fresh-batch growth gradient); its share of training time at
ΔT_G = 500 is cost / (500 · plain iteration + cost). Target: at most 1 %.

    .venv/bin/python tools/benchmark_dst.py --rounds=5 --out=benchmarks/dst.json
"""

import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gin  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 5, "Interleaved rounds (each: one plain, one update iteration).")
flags.DEFINE_string("dataset", "cifar10_jpeg", "Training data (offline CIFAR-10 JPEG copy).")
flags.DEFINE_float("density", 0.1, "d_G = d_D.")
flags.DEFINE_integer("update_every", 500, "ΔT_G in iterations, for the share of training time.")
flags.DEFINE_string("out", "benchmarks/dst.json", "Where to write the results.")


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    for value in out.values():
        value.numpy()
    return time.perf_counter() - start


def main(argv):
    del argv
    from ddst_tf import config
    from ddst_tf.sparse import view
    from ddst_tf.training.step import IterationPlan
    from ddst_tf.training.trainer import GANTrainer
    config.parse(["gin_configs/sngan_cifar10/sdst_balance_rigl.gin"], [
        f"D_G = {FLAGS.density}", f"GANTrainer.dataset = '{FLAGS.dataset}'",
        "NUM_ITERATIONS = 100000"])
    trainer = GANTrainer(model_dir="/tmp/ddst_benchmark_dst")
    trainer.restore_or_initialize()
    nnz = int(view.total_nnz(trainer.state.g_layers))
    plain_plan, update_plan = IterationPlan(), IterationPlan(update_g_masks=True)
    for plan in (plain_plan, update_plan):  # trace both variants first
        timed(trainer.step, trainer.iterator, plan)
    plain, with_update = [], []
    for _ in range(FLAGS.rounds):
        plain.append(timed(trainer.step, trainer.iterator, plain_plan))
        with_update.append(timed(trainer.step, trainer.iterator, update_plan))
    assert int(view.total_nnz(trainer.state.g_layers)) == nnz
    t_plain, t_update = statistics.median(plain), statistics.median(with_update)
    cost = max(t_update - t_plain, 0.0)
    share = cost / (FLAGS.update_every * t_plain + cost)
    result = {
        "model": "sngan32 (paper size)", "g_params_masked": sum(view.layer_sizes(trainer.state.g_layers)),
        "density": FLAGS.density, "gen_batch_size": trainer.recipe.gen_batch_size,
        "disc_batch_size": trainer.recipe.disc_batch_size, "n_critic": trainer.recipe.n_critic,
        "rounds": FLAGS.rounds, "iteration_seconds_median": t_plain,
        "iteration_with_update_seconds_median": t_update, "update_cost_seconds": cost,
        "update_every": FLAGS.update_every, "share_of_training_time": share,
        "target_share": 0.01, "meets_target": share <= 0.01,
        "plain_seconds": plain, "with_update_seconds": with_update,
    }
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"| plain iteration | iteration + G prune-and-regrow | update cost | share at ΔT={FLAGS.update_every} |")
    print("|---|---|---|---|")
    print(f"| {t_plain:.3f} s | {t_update:.3f} s | {cost:.3f} s | {100 * share:.3f} % |")
    gin.clear_config()


if __name__ == "__main__":
    app.run(main)
