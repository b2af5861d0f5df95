"""ddst-eval: score the EMA generator of a training run against the dataset's held-out split.

    ddst-eval --model_dir=runs/quickstart --metrics=fid,kid,is,pr --num_samples=10000 \
        --features=classifier
    ddst-eval --model_dir=runs/cifar --features=inception \
        --inception_graph=/path/classify_image_graph_def.pb --num_samples=50000 --split=train

Results are appended to <model_dir>/eval/metrics.csv and metrics.jsonl and printed as JSON
lines. --dump_samples=png|npz also writes the generated images to --dump_dir for external
scorers; with --metrics= (empty) it only dumps.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from ddst_tf.cli import entry  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Directory of a ddst-train run (or its best/ copy).")
flags.DEFINE_list("metrics", ["fid", "kid"], "Metrics: any of fid, kid, is, pr (empty: only dump).")
flags.DEFINE_integer("num_samples", 10000, "Generated images to score (the paper: 50000).")
flags.DEFINE_enum("features", "classifier", ["classifier", "inception", "squeezenet"],
                  "Feature extractor; see README 'Evaluation' for what each is comparable with.")
flags.DEFINE_string("inception_graph", None,
                    "Path of classify_image_graph_def.pb (2015-12-05) for --features=inception; needed "
                    "for --metrics=is. Without it: the graph's Keras port (pool_3 only; weights from "
                    "tools/fetch_fid_inception_weights.py).")
flags.DEFINE_bool("allow_download", False,
                  "--features=inception: download the graph if it is neither given nor cached.")
flags.DEFINE_string("squeezenet_weights", None,
                    "SqueezeNet v1.1 h5 for --features=squeezenet (default: in --data_dir).")
flags.DEFINE_integer("classifier_epochs", None,
                     "--features=classifier: training epochs of the domain classifier (cache key).")
flags.DEFINE_string("cache_dir", None,
                    "Cache of classifiers, the Inception graph and the FID Inception weights.")
flags.DEFINE_string("split", "test", "Real-data split to compare with (the paper used train).")
flags.DEFINE_string("dataset", None, "Real dataset name (default: the run's GANTrainer.dataset).")
flags.DEFINE_integer("batch_size", 100, "Generator batch size.")
flags.DEFINE_integer("seed", 0, "Seed of the latents and labels.")
flags.DEFINE_enum("labels", "balanced", ["balanced", "uniform"],
                  "Class labels of a conditional generator.")
flags.DEFINE_enum("dump_samples", None, ["png", "npz"], "Also write the generated images.")
flags.DEFINE_string("dump_dir", None, "Where --dump_samples writes (must not exist yet).")
flags.mark_flag_as_required("model_dir")


def extractor_options():
    """The options of the chosen extractor from the flags."""
    options = {"inception": {"graph_path": FLAGS.inception_graph, "cache_dir": FLAGS.cache_dir,
                             "allow_download": FLAGS.allow_download},
               "squeezenet": {"weights_path": FLAGS.squeezenet_weights},
               "classifier": {"cache_dir": FLAGS.cache_dir, "epochs": FLAGS.classifier_epochs}}
    return {key: value for key, value in options[FLAGS.features].items() if value is not None}


def check_flags(families):
    """Usage errors before anything heavy runs."""
    from ddst_tf.eval import features
    from ddst_tf.eval.sample_dump import dump_target
    if FLAGS.num_samples < 2:
        raise app.UsageError(f"--num_samples must be at least 2, got {FLAGS.num_samples}")
    if not families and not FLAGS.dump_samples:
        raise app.UsageError("--metrics is empty and --dump_samples is not set: nothing to do")
    if "is" in families and not features.gives_logits(FLAGS.features, extractor_options()):
        raise app.UsageError(features.no_logits_message(FLAGS.features))
    if FLAGS.dump_samples:
        if not FLAGS.dump_dir:
            raise app.UsageError("--dump_samples needs --dump_dir")
        target = dump_target(FLAGS.dump_samples, FLAGS.dump_dir)
        if os.path.exists(target):
            raise app.UsageError(f"--dump_dir: {target} already exists; choose a new one")


def evaluate_run(families):
    """Load the run, score (and dump) its samples; returns the records written."""
    import gin

    from ddst_tf.eval import evaluate, sample_dump
    from ddst_tf.eval.sampling import generate_samples
    from ddst_tf.runs import load_ema_generator

    gin.clear_config()
    try:
        generator, info, iteration = load_ema_generator(FLAGS.model_dir)
        dataset = FLAGS.dataset or evaluate.run_dataset_name()
        if families:
            real_images, classifier_data = evaluate.load_eval_data(
                dataset, FLAGS.split, FLAGS.features == "classifier")
            evaluate.check_shapes_match(real_images, info["image_shape"])
    finally:
        gin.clear_config()
    records = []
    if families:
        extractor = evaluate.build_extractor(FLAGS.features, dataset, classifier_data, extractor_options())
        if FLAGS.features == "classifier":
            logging.info("classifier %s: test accuracy %.4f", evaluate.extractor_id(extractor),
                         extractor.record["test_accuracy"])
        records, images, labels = evaluate.evaluate_generator(
            generator, info["latent_dim"], info["num_classes"], extractor, extractor(real_images),
            families, num_samples=FLAGS.num_samples, iteration=iteration, split=FLAGS.split,
            dataset=dataset, batch_size=FLAGS.batch_size, seed=FLAGS.seed, labels=FLAGS.labels)
        evaluate.append_records(FLAGS.model_dir, records)
    else:
        images, labels = generate_samples(
            generator, FLAGS.num_samples, info["latent_dim"], info["num_classes"],
            batch_size=FLAGS.batch_size, labels=FLAGS.labels, seed=FLAGS.seed)
    if FLAGS.dump_samples:
        logging.info("Wrote %s", sample_dump.dump_samples(images, labels, FLAGS.dump_samples,
                                                           FLAGS.dump_dir))
    return records


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    from ddst_tf.eval.evaluate import parse_metrics
    try:
        families = parse_metrics(FLAGS.metrics)
    except ValueError as error:
        raise app.UsageError(f"--metrics: {error}") from error
    check_flags(families)
    from ddst_tf import native_logs
    native_logs.start_tensorflow_context()
    for record in evaluate_run(families):
        print(json.dumps(record, sort_keys=True))


def run():
    entry.run_main(main, __name__)


if __name__ == "__main__":
    run()
