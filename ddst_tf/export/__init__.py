"""Export of a run's generator: masks folded (strip), SavedModel, .keras and TFLite."""

from ddst_tf.export.keras_file import export_keras, load_sparse_model, save_sparse_model
from ddst_tf.export.run_export import export_run
from ddst_tf.export.savedmodel import export_saved_model
from ddst_tf.export.strip import strip
from ddst_tf.export.tflite import convert_generator

__all__ = ["convert_generator", "export_keras", "export_run", "export_saved_model",
           "load_sparse_model", "save_sparse_model", "strip"]
