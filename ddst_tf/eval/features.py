"""Feature extractors for GAN evaluation (FID, KID, IS, precision/recall), chosen by name.

Every extractor is a callable object `extractor(images, batch_size) -> {"pool": [N, F] float32,
"logits": [N, C] float32 or None}` taking float NHWC images in [-1, 1] (1 or 3 channels; checked
and batched by `ddst_tf.eval.image_batches`), with a `name` and a `comparability` note saying which
published or local numbers its metrics can be compared with. `make_extractor(name, **options)`
builds one from the `EXTRACTORS` registry and `extract(name, images, **options)` runs one. The
metric maths lives in `ddst_tf.eval.metrics`.

* `inception` (`ddst_tf.eval.inception_extractor`): the 2015-12-05 TF Inception graph of the TTUR
  FID and OpenAI IS code, or, when no graph is given, its Keras port (`ddst_tf.eval.fid_inception`:
  pool_3 only, no IS).
* `classifier` (`ddst_tf.eval.classifier_extractor`): a small domain CNN trained
  (deterministically, cached on disk) on a dataset.
* `squeezenet` (`ddst_tf.eval.squeezenet_extractor`): SqueezeNet v1.1 ImageNet conv features
  (512-d), an offline FID/KID stand-in.
"""

from ddst_tf.eval.classifier_extractor import ClassifierExtractor
from ddst_tf.eval.inception_extractor import inception_uses_graph, make_inception_extractor
from ddst_tf.eval.squeezenet_extractor import SqueezeNetExtractor

EXTRACTORS = {
    "classifier": ClassifierExtractor.for_dataset,
    "inception": make_inception_extractor,
    "squeezenet": SqueezeNetExtractor,
}


def make_extractor(name, **options):
    """The extractor `name` built with `options` (e.g. graph_path=, dataset_name=, image_size=)."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known extractors: {sorted(EXTRACTORS)}")
    return EXTRACTORS[name](**options)


def extract(extractor_name, images, batch_size=64, **options):
    """{"pool": [N, F], "logits": [N, C] or None} of `images` ([-1, 1] NHWC) under `extractor_name`."""
    return make_extractor(extractor_name, **options)(images, batch_size=batch_size)


def gives_logits(name, options=None):
    """Whether extractor `name` built with `options` gives class logits (the Inception Score needs them)."""
    options = options or {}
    if name == "squeezenet":
        return False
    if name == "inception":
        return inception_uses_graph(options.get("graph_path"), options.get("cache_dir"),
                                    options.get("allow_download", False))
    return True


def no_logits_message(name, graph_option="--inception_graph=PATH"):
    """Why metric 'is' cannot run on extractor `name`, and what to pass instead."""
    if name == "inception":
        return (f"metric 'is' needs the logits of the TF Inception graph: pass {graph_option} "
                f"(without a graph, features 'inception' is its Keras port, pool_3 only)")
    return f"metric 'is' needs class logits, which features '{name}' does not give"
