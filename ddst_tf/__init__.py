"""ddst_tf: balanced dynamic sparse training for GANs (ADAPT) in TensorFlow/Keras 3.

Importing the package registers its Keras layers, so ``keras.saving.load_model`` reads
``.keras`` files with masked layers after ``import ddst_tf``. The subpackages hold the rest
(see README "Library overview").
"""

__version__ = "0.2.0"

from ddst_tf import native_logs  # noqa: E402

with native_logs.muted_native_stderr(native_logs.wanted()):
    import tensorflow  # noqa: E402,F401  (its native start-up lines, muted for the ddst-* tools)

from ddst_tf import layers  # noqa: E402,F401  (registers the Keras serializables)
