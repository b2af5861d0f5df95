"""Benchmark MultiWorkerMirroredStrategy: 2 workers on 127.0.0.1 against 1 process.

    python tools/benchmark_multiworker.py [--iterations 20] [--timeout 300]

Runs a small DCGAN on digits (static masks, d_G = d_D = 0.5) three ways: one
process with the default strategy; 2 workers sharing the same global batch
(strong scaling); 2 workers each with the single process's batch (weak
scaling, global batch doubled). Each run traces and warms up first, then times
``--iterations`` training iterations (n_critic D steps + 1 G step). Steps/s are
iterations per second; examples/s are real images consumed per second
(iterations * n_critic * global D batch). Results go to benchmarks/multiworker.json
and a markdown table is printed. Every process is killed after ``--timeout`` s.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "benchmarks", "multiworker.json")
N_CRITIC = 2
GEN_BATCH, DISC_BATCH = 64, 32
CONFIG = f"""
GANTrainer.model = 'dcgan'
GANTrainer.dataset = 'digits'
GANTrainer.num_iterations = 1000000
GANTrainer.densities = (0.5, 0.5)
GANTrainer.n_critic = {N_CRITIC}
GANTrainer.num_samples = 4
dcgan_generator.latent_dim = 64
dcgan_generator.base_width = 32
dcgan_discriminator.base_width = 32
"""
# (name, workers, global batch multiplier)
RUNS = [("1 process (default strategy)", 1, 1),
        ("2 workers, same global batch", 2, 1),
        ("2 workers, global batch x2", 2, 2)]


def worker_main(batch_multiplier, warmup, iterations):
    """Time ``iterations`` training iterations in this process; print one JSON line."""
    import gin

    from ddst_tf import config
    from ddst_tf.training.step import IterationPlan
    from ddst_tf.training.strategies import is_chief, make_strategy
    multi_worker = "TF_CONFIG" in os.environ
    strategy = make_strategy("multi_worker" if multi_worker else "default")
    config.register_configurables()
    gin.parse_config(CONFIG)
    gin.bind_parameter("GANTrainer.gen_batch_size", GEN_BATCH * batch_multiplier)
    gin.bind_parameter("GANTrainer.disc_batch_size", DISC_BATCH * batch_multiplier)
    from ddst_tf.training.trainer import GANTrainer
    with tempfile.TemporaryDirectory() as model_dir:
        trainer = GANTrainer(model_dir=model_dir, strategy=strategy)
        trainer.restore_or_initialize()
        for _ in range(warmup):
            out = trainer.step(trainer.iterator, IterationPlan())
        float(out["d_loss"])
        start = time.perf_counter()
        for _ in range(iterations):
            out = trainer.step(trainer.iterator, IterationPlan())
        float(out["d_loss"])
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "chief": is_chief(strategy),
                      "replicas": strategy.num_replicas_in_sync}), flush=True)


def run(workers, batch_multiplier, args):
    """Start ``workers`` processes of this script; the chief's timing, or None on timeout."""
    from ddst_tf.training.strategies import local_cluster_tf_configs
    tf_configs = local_cluster_tf_configs(workers)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, os.path.abspath(__file__), "--worker",
               f"--batch_multiplier={batch_multiplier}", f"--warmup={args.warmup}",
               f"--iterations={args.iterations}"]
    processes = []
    try:
        for index in range(workers):
            worker_env = dict(env)
            if workers > 1:
                worker_env["TF_CONFIG"] = tf_configs[index]
            processes.append(subprocess.Popen(command, env=worker_env, cwd=ROOT, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        deadline = time.monotonic() + args.timeout
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=max(1, deadline - time.monotonic()))
            if process.returncode != 0:
                raise RuntimeError(f"worker failed:\n{stderr[-3000:]}")
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    except subprocess.TimeoutExpired:
        return None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return max(result["seconds"] for result in results)


def markdown(report):
    lines = ["| setup | workers | global batch (G/D) | steps/s | examples/s |",
             "|---|---|---|---|---|"]
    for row in report["runs"]:
        if row["steps_per_s"] is None:
            lines.append(f"| {row['name']} | {row['workers']} | {row['gen_batch']}/"
                         f"{row['disc_batch']} | timed out | timed out |")
            continue
        lines.append(f"| {row['name']} | {row['workers']} | {row['gen_batch']}/"
                     f"{row['disc_batch']} | {row['steps_per_s']:.2f} | "
                     f"{row['examples_per_s']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before the processes of one run are killed")
    parser.add_argument("--output", default=OUTPUT)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch_multiplier", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.iterations < 1 or args.warmup < 1:
        parser.error(f"--iterations and --warmup must be >= 1; got {args.iterations} and "
                     f"{args.warmup}")
    if args.worker:
        worker_main(args.batch_multiplier, args.warmup, args.iterations)
        return
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_average_at_start": os.getloadavg()},
              "model": "dcgan on digits 8x8, G base_width 32, D base_width 32, latent 64, "
                       "d_G = d_D = 0.5, static masks",
              "n_critic": N_CRITIC, "iterations": args.iterations, "warmup": args.warmup,
              "examples_per_s": "iterations/s * n_critic * global D batch (real images)",
              "runs": []}
    for name, workers, multiplier in RUNS:
        seconds = run(workers, multiplier, args)
        steps = None if seconds is None else args.iterations / seconds
        report["runs"].append({
            "name": name, "workers": workers, "gen_batch": GEN_BATCH * multiplier,
            "disc_batch": DISC_BATCH * multiplier, "seconds": seconds, "steps_per_s": steps,
            "examples_per_s": None if steps is None else steps * N_CRITIC * DISC_BATCH
            * multiplier})
        print(f"{name}: {'timed out' if seconds is None else f'{steps:.2f} steps/s'}",
              flush=True)
    report["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(report, f, indent=2)
    print(markdown(report))


if __name__ == "__main__":
    main()
