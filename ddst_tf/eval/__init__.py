"""GAN evaluation: metrics on features, feature extractors, sampling, periodic evaluation."""

from ddst_tf.eval.classifier_extractor import ClassifierExtractor
from ddst_tf.eval.evaluate import evaluate_generator
from ddst_tf.eval.features import extract, make_extractor
from ddst_tf.eval.inception_extractor import FidInceptionExtractor, InceptionExtractor
from ddst_tf.eval.metrics import (classifier_score_and_std_from_logits,
                                  classifier_score_from_logits,
                                  frechet_distance_from_activations,
                                  kernel_inception_distance_from_activations,
                                  precision_recall_from_activations)
from ddst_tf.eval.periodic import PeriodicEvaluator
from ddst_tf.eval.sampling import generate_samples
from ddst_tf.eval.squeezenet_extractor import SqueezeNetExtractor

__all__ = ["ClassifierExtractor", "FidInceptionExtractor", "InceptionExtractor",
           "PeriodicEvaluator", "SqueezeNetExtractor", "classifier_score_and_std_from_logits",
           "classifier_score_from_logits", "evaluate_generator", "extract",
           "frechet_distance_from_activations", "generate_samples",
           "kernel_inception_distance_from_activations", "make_extractor",
           "precision_recall_from_activations"]
